#!/usr/bin/env bash
# Builds in release mode and runs the core benchmarks; the ratio tables at the
# end are the figures quoted in issues and docs. Extra arguments go to Google
# Benchmark (e.g. --benchmark_filter=overhead) and replace the default
# repetitions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target strata_bench
# By default, medians of 9 repetitions run in random interleaving: this
# machine is a noisy VM, and interleaving spreads its drift over baseline and
# candidate alike.
if (($# == 0)); then
  set -- --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true
fi
build/release/bench/strata_bench "$@"
