#!/usr/bin/env bash
# Installs strata into a temporary prefix and builds and runs a separate
# project that finds it with find_package(strata CONFIG REQUIRED), once with
# the core alone, once with the sqlite component (the embedded default) and
# once with the network components (redis, postgres, s3) and json, then checks
# that asking for a component strata does not have fails configuration with a
# message naming it.
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
echo "consumer: 4 passed, 0 failed"
