#!/usr/bin/env bash
# Installs strata into a temporary prefix and builds and runs a separate
# project that finds it with find_package(strata CONFIG REQUIRED), once with
# the core alone, once with the sqlite component (the embedded default) and
# once with the network components (redis, postgres, s3) and json, then checks
# that asking for a component strata does not have fails configuration with a
# message naming it; then checks the Conan recipe against the installed package
# (scripts/check-conan-recipe.py) and builds and runs its test_package.
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

cmake -S tests/consumer -B "$work/embedded" -DCMAKE_PREFIX_PATH="$work/prefix" \
  "-DCONSUMER_COMPONENTS=core;sqlite" >/dev/null
cmake --build "$work/embedded" -j "$(nproc)"
"$work/embedded/strata_consumer"
# The embedded consumer neither includes nor links a network client: no
# hiredis, libpq, curl or pugixml header in its compile's dependencies, and
# none of their libraries on its link line.
if grep -Eq 'hiredis|libpq|postgresql|curl/|pugixml' \
  "$work/embedded/CMakeFiles/strata_consumer.dir/main.cpp.o.d" \
  "$work/embedded/CMakeFiles/strata_consumer.dir/link.txt"; then
  echo "FAIL: the embedded-only consumer pulls in a network client library" >&2
  exit 1
fi

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
echo "consumer: 8 passed, 0 failed"
