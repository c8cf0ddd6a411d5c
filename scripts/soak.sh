#!/usr/bin/env bash
# Crash soaks, not part of CI (tests/soak/crash_soak.cpp): per backend,
# STRATA_SOAK_TRIALS (default 100) trials of a crash at a random moment of a
# batch of random size and TTL mix, the server's contents compared with the
# BatchResults and the cache afterwards; and 8 threads on a pool of 4 while the
# server is paused and resumed for STRATA_SOAK_POOL_SECONDS (default 60).
# Every server is the soak's own, on 127.0.0.1 (ports 16380, 16433, 16401).
# Prints one table row per backend; fails on any divergence.
#
#   scripts/soak.sh [gtest filter, e.g. 'Soak.Redis*']
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)" --target strata_soak
build/dev/tests/integration/strata_soak --gtest_filter="${1:-*}" 2>&1 | grep -E '^soak |FAILED|PASSED|Failure|error' 
exit "${PIPESTATUS[0]}"
