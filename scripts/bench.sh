#!/usr/bin/env bash
# Builds in release mode and runs the core benchmarks; the ratio tables at the
# end are the figures quoted in issues and docs. Extra arguments go to Google
# Benchmark (e.g. --benchmark_filter=overhead).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target strata_bench
build/release/bench/strata_bench "$@"
