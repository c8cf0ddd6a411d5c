#!/usr/bin/env bash
# Everything CI checks, in order: dependencies, style, the API reference, the
# dev build with -Werror and its tests, the same tests under ASan + UBSan, a
# bounded libFuzzer run of the JSON codec, and consumer projects built against
# an installed strata.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
jobs=$(nproc)

# ccache (when present) keyed on paths relative to this checkout, so a clone
# in another directory (CI's) reuses what an earlier run here compiled; debug
# info then names this checkout's paths, which no test reads.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-10G}

# Each step's wall time, printed when the next begins and at the end, so a
# slow CI run says where its minutes went.
step_name="" step_start=$SECONDS
step() {
  [[ -n $step_name ]] && echo "-- $step_name: $((SECONDS - step_start)) s (total $SECONDS s)"
  step_name=$1 step_start=$SECONDS
  [[ -n $step_name ]] && echo "== $step_name"
  return 0
}

step "dependencies (scripts/install-deps.sh)"
scripts/install-deps.sh

# The integration tests talk to real servers, started here on 127.0.0.1 and
# stopped however this script ends: redis, postgres, s3, the Redis Cluster and
# the Sentinel group (scripts/servers.sh).
scripts/servers.sh start
trap 'scripts/servers.sh stop' EXIT

step "style (clang-format)"
git ls-files -co --exclude-standard -- '*.hpp' '*.cpp' | xargs clang-format --dry-run -Werror

step "API reference (Doxygen: every public entity documented)"
scripts/check-docs.sh

# The dev build, with gcov counters (preset coverage): the suite runs once
# and its coverage is measured from the same run.
step "dev build (-Werror, gcov counters) and every test"
cmake --preset coverage
cmake --build --preset coverage -j "$jobs"
find build/coverage -name '*.gcda' -delete
ctest --preset coverage -j "$jobs"

step "coverage of include/strata/ (scripts/coverage.sh: the floors it enforces)"
scripts/coverage.sh --no-tests

# The store's fixed cost over the hand-written call, in instructions
# (deterministic): fails above 1.05x (issue 21; the store is at 1.045x for
# set, 1.035x for get).
step "zero overhead (callgrind: TieredStore vs the hand-written call)"
scripts/zero-overhead.sh

step "static analysis (clang-tidy, .clang-tidy's checks, on the TUs that instantiate the core)"
# One TU per clang-tidy, as many at once as there are cores.
printf '%s\n' \
  examples/quickstart.cpp \
  bench/failover_drill.cpp \
  bench/bench_store.cpp \
  tests/integration/redis_test.cpp \
  tests/integration/postgres_test.cpp \
  tests/unit/s3_sigv4_test.cpp \
  tests/unit/s3_parts_test.cpp \
  tests/integration/s3_test.cpp \
  examples/typed_positions.cpp \
  tests/unit/typed_store_test.cpp \
  tools/strata/main.cpp \
  tests/integration/redis_bus_test.cpp \
  tests/integration/redis_laws_test.cpp \
  tests/unit/kit_laws_test.cpp \
  examples/metrics_server.cpp \
  tests/unit/metrics_test.cpp \
  tests/unit/single_flight_test.cpp \
  tests/unit/core_test.cpp \
  bench/bench_embedded.cpp \
  tests/integration/redis_cluster_test.cpp \
  tests/integration/redis_sentinel_test.cpp \
  | xargs -P "$jobs" -n 1 clang-tidy --quiet -p build/coverage

step "ASan + UBSan build and tests"
cmake --preset asan
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs"

# ThreadSanitizer (clang): the unit tests, and the integration tests whose
# code runs threads: concurrent batches over each backend, pools, page
# streams (rehydrate), the invalidation bus, deletes over two network tiers.
step "ThreadSanitizer build and the tests that run threads"
cmake --preset tsan
cmake --build --preset tsan -j "$jobs"
ctest --preset tsan -j "$jobs" -LE integration -E '^Cli\.'
ctest --preset tsan -j "$jobs" -L integration \
  -R 'Concurrent|Pool|Rehydrat|RedisBus|TwoNetworkTiers|Coherent'

step "fuzz: every parser of foreign bytes under libFuzzer + ASan + UBSan, 12 s each"
scripts/fuzz.sh 12

step "consumer: find_package(strata) from an install"
scripts/check-consumer.sh
step ""
