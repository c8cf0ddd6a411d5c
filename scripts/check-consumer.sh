#!/usr/bin/env bash
# Installs strata into a temporary prefix and builds and runs separate
# projects that use it as a user does: find_package(strata CONFIG REQUIRED
# COMPONENTS ...) with the core alone; with sqlite (the embedded default) on a
# machine path without hiredis and libpq, where it must neither include nor
# link them; with redis, postgres, s3 and json; and by add_subdirectory. Then
# checks that asking for a component that does not exist, or for one whose
# dependency is missing, fails configuration with a message naming it; that
# the Conan recipe declares what CMake exports (scripts/check-conan-recipe.py);
# builds and runs the recipe's test_package against the install; and builds
# examples/custom_backend (the conformance kit and benchmark helpers) from it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake -S . -B "$work/build" -DSTRATA_BUILD_TESTS=OFF -DSTRATA_BUILD_BENCHMARKS=OFF \
  -DSTRATA_BUILD_EXAMPLES=OFF -DSTRATA_BUILD_TOOLS=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --install "$work/build" >/dev/null

cmake -S tests/consumer -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" -j "$(nproc)"
"$work/consumer/strata_consumer"

# A machine without the network clients' development files: find_* calls
# are re-rooted into a copy of /usr/include and the library directory that
# lacks hiredis and libpq, and the compiler finds headers of those names that
# stop the build (#error) ahead of the real ones. The embedded-only consumer
# configures, builds and runs there; asking for redis or postgres fails with a
# message naming the component and the missing dependency.
multiarch=$(gcc -print-multiarch)
without_clients="$work/without-clients"
mkdir -p "$without_clients/usr/include" "$without_clients/usr/lib/$multiarch" "$work/poison/hiredis"
for entry in /usr/include/*; do
  case ${entry##*/} in hiredis | postgresql | libpq-fe.h) continue ;; esac
  ln -s "$entry" "$without_clients/usr/include/"
done
for entry in "/usr/lib/$multiarch"/*; do
  case ${entry##*/} in libhiredis* | libpq.* | libpq-*) continue ;; esac
  ln -s "$entry" "$without_clients/usr/lib/$multiarch/"
done
for header in hiredis/hiredis.h libpq-fe.h postgresql/libpq-fe.h curl/curl.h pugixml.hpp; do
  mkdir -p "$work/poison/$(dirname "$header")"
  echo "#error \"the embedded-only consumer included $header\"" >"$work/poison/$header"
done
without_clients_args=(-DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_FIND_ROOT_PATH="$without_clients"
  -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY)

cmake -S tests/consumer -B "$work/embedded" "${without_clients_args[@]}" \
  "-DCMAKE_CXX_FLAGS=-I$work/poison" "-DCONSUMER_COMPONENTS=core;sqlite" >/dev/null
cmake --build "$work/embedded" -j "$(nproc)"
"$work/embedded/strata_consumer"
# Nor does it link them: none of their libraries on its link line.
if grep -Eq 'hiredis|libpq|curl|pugixml' "$work/embedded/CMakeFiles/strata_consumer.dir/link.txt"; then
  echo "FAIL: the embedded-only consumer links a network client library" >&2
  exit 1
fi

for case in "redis:Hiredis:libhiredis-dev" "postgres:PostgreSQL:libpq-dev"; do
  IFS=: read -r component dependency package <<<"$case"
  if cmake -S tests/consumer -B "$work/without-$component" "${without_clients_args[@]}" \
    "-DCONSUMER_COMPONENTS=core;$component" >"$work/without-$component.log" 2>&1; then
    echo "FAIL: component '$component' configured without $dependency installed" >&2
    exit 1
  fi
  expected="strata component '$component' needs $dependency, which was not found (on Debian: apt install $package)"
  # CMake wraps the message: compare with the log's lines joined.
  tr -s ' \n' '  ' <"$work/without-$component.log" | grep -qF "$expected" || {
    cat "$work/without-$component.log" >&2
    echo "FAIL: the message for a missing $dependency does not say: $expected" >&2
    exit 1
  }
done

# add_subdirectory(strata) instead of an install.
cmake -S tests/consumer -B "$work/subdirectory" "-DCONSUMER_STRATA_SOURCE=$PWD" \
  "-DCONSUMER_COMPONENTS=core;sqlite" >/dev/null
cmake --build "$work/subdirectory" -j "$(nproc)"
"$work/subdirectory/strata_consumer"

cmake -S tests/consumer -B "$work/network" -DCMAKE_PREFIX_PATH="$work/prefix" \
  "-DCONSUMER_COMPONENTS=core;redis;postgres;s3;json" >/dev/null
cmake --build "$work/network" -j "$(nproc)"
"$work/network/strata_consumer"

if cmake -S tests/consumer -B "$work/bad" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCONSUMER_COMPONENTS=warp_drive >"$work/bad.log" 2>&1; then
  echo "FAIL: asking for component 'warp_drive' configured" >&2
  exit 1
fi
grep -q "strata has no component 'warp_drive'" "$work/bad.log" || {
  cat "$work/bad.log" >&2
  echo "FAIL: the missing-component message does not name the component" >&2
  exit 1
}

# The Conan recipe: it compiles, and declares exactly the targets CMake exports.
python3 scripts/check-conan-recipe.py "$work/prefix/share/cmake/strata/strataTargets.cmake"
# Its test_package builds and runs against the CMake install.
cmake -S test_package -B "$work/test_package" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/test_package" -j "$(nproc)"
"$work/test_package/test_package"

# The downstream kit: examples/custom_backend, a project with its own
# Repository, built from the install with COMPONENTS testing bench; its
# conformance laws pass, and a short run of its benchmark prints the table.
cmake -S examples/custom_backend -B "$work/custom_backend" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/custom_backend" -j "$(nproc)"
"$work/custom_backend/sorted_vector_laws" --gtest_brief=1
"$work/custom_backend/sorted_vector_bench" --benchmark_min_time=0.01 --benchmark_repetitions=2 \
  --benchmark_color=false | tee "$work/custom_backend/bench.txt"
grep -q "^set x10000 " "$work/custom_backend/bench.txt" || {
  echo "FAIL: the example's benchmark printed no ratio table" >&2
  exit 1
}
echo "consumer: 11 passed, 0 failed"
