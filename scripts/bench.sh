#!/usr/bin/env bash
# Builds in release mode and runs the benchmarks; the ratio tables at the end
# of each are the figures quoted in issues and docs.
#
#   scripts/bench.sh [core|metrics|cache|singleflight|compile|embedded|redis|cluster|bus|postgres|s3|codec|drill|all] [flags...]
#
# core:     strata_bench_store, medians of 9 repetitions in random interleaving (this
#           machine is a noisy VM; interleaving spreads its drift over baseline
#           and candidate alike).
# metrics:  strata_bench_metrics, the cost of StripedMetrics against NoMetrics
#           per batch of 1 and 100 keys; medians of 9, interleaved.
# cache:    strata_bench_cache, LruCache, S3FifoCache and TinyLfuCache: hit ns on 1 and 2
#           threads (medians of 9, interleaved) and the Zipf hit-ratio tables,
#           from cold and warm, beside exact-count LFU and the oracle (~2 min).
# singleflight: strata_bench_single_flight: 8 threads reading the same 354
#           uncached keys at once, 200 rounds, with NoSingleFlight and with
#           BatchSingleFlight: tier loads and keys per round, round time ratio.
# compile:  seconds to compile (g++ -O2 -c, median of 3) each of three files:
#           one TieredStore over memory tiers, the embedded store, and one
#           over Redis + PostgreSQL + S3 (bench/compile/), each including the
#           headers it uses; then the first and the last through the umbrella
#           strata/strata.hpp.
# embedded: strata_bench_embedded, medians of 3: durable writes are dominated
#           by fsync, far above the VM's jitter, and a 10k-key run takes seconds.
# redis:    strata_bench_redis against a redis-server this script starts on
#           127.0.0.1 (scripts/servers.sh) and stops; medians of 5, interleaved.
# cluster:  strata_bench_redis_cluster against the 3+3 Redis Cluster, the
#           Sentinel group and a single redis-server this script starts: cluster
#           strata vs raw per-slot hiredis pipelines and vs single-node strata
#           (10k, 100k keys), and the cost of min_replicas_acked = 1 on 354
#           keys; medians of 5, interleaved.
# bus:      strata_bench_bus against a redis-server this script starts: the
#           invalidation bus's latency (p50/p99/max at 1k and 10k writes/s) and
#           its cost on the writer (medians of 5, interleaved).
# postgres: strata_bench_postgres against a throwaway PostgreSQL cluster this
#           script starts on 127.0.0.1 and removes; medians of 3, interleaved
#           (every write commits with fsync: the spread is the disk's).
# s3:       strata_bench_s3 against an s3rver this script starts on 127.0.0.1
#           and stops; medians of 3 (a sequential 2000-object run takes seconds).
# codec:    strata_bench_codec, JsonCodec vs hand-written nlohmann-json; medians
#           of 9, interleaved (CPU-bound, microseconds per call).
# drill:    the failover drill on real servers (bench/failover_drill.cpp): Redis
#           HOT and PostgreSQL WARM started here (a fresh cluster: no table
#           bloat from earlier runs), 354, 10k and 1M keys in pages of 10k,
#           medians of 3; the one-key path sampled on 10k keys at 1M.
# Flags given after the selector replace those defaults.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Whatever happens, the servers this script started do not outlive it.
trap 'scripts/servers.sh stop redis postgres s3 cluster sentinel >/dev/null 2>&1 || true' EXIT

which=${1:-all}
(($# > 0)) && shift

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target strata_bench_store strata_bench_metrics strata_bench_cache strata_bench_single_flight strata_bench_embedded \
  strata_bench_redis strata_bench_redis_cluster strata_bench_bus strata_bench_postgres strata_bench_s3 strata_bench_codec strata_drill

if [[ $which == core || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
      --benchmark_report_aggregates_only=true)
  fi
  build/release/bench/strata_bench_store "${flags[@]}"
fi
if [[ $which == metrics || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
      --benchmark_report_aggregates_only=true)
  fi
  build/release/bench/strata_bench_metrics "${flags[@]}"
fi
if [[ $which == cache || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
      --benchmark_report_aggregates_only=true)
  fi
  build/release/bench/strata_bench_cache "${flags[@]}"
fi
if [[ $which == singleflight || $which == all ]]; then
  flags=()
  [[ $which == singleflight ]] && flags=("$@")  # its own flags, not Google Benchmark's
  build/release/bench/strata_bench_single_flight "${flags[@]}"
fi
if [[ $which == compile || $which == all ]]; then
  echo "compile time, g++ -std=c++20 -O2 -DNDEBUG -c, median of 3:"
  # Each probe as written (the headers it uses), then memory_store and
  # network_store through the umbrella strata/strata.hpp.
  for probe in memory_store embedded_store network_store memory_store+umbrella \
    network_store+umbrella; do
    defines=()
    [[ $probe == *+umbrella ]] && defines=(-DSTRATA_PROBE_UMBRELLA)
    times=()
    for _ in 1 2 3; do
      times+=("$(TIMEFORMAT=%R
        { time g++ -std=c++20 -O2 -DNDEBUG "${defines[@]}" -Iinclude -I/usr/include/postgresql \
          -c "bench/compile/${probe%+umbrella}.cpp" -o /dev/null; } 2>&1 | tail -1)")
    done
    printf '  %-23s %s s\n' "$probe" "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)"
  done
fi
if [[ $which == embedded || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
  fi
  build/release/bench/strata_bench_embedded "${flags[@]}"
fi
if [[ $which == redis || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
      --benchmark_report_aggregates_only=true)
  fi
  scripts/servers.sh start redis
  build/release/bench/strata_bench_redis "${flags[@]}"
  scripts/servers.sh stop redis
fi
if [[ $which == cluster || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
      --benchmark_report_aggregates_only=true)
  fi
  scripts/servers.sh start redis cluster sentinel
  build/release/bench/strata_bench_redis_cluster "${flags[@]}"
  scripts/servers.sh stop redis cluster sentinel
fi
if [[ $which == bus || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
      --benchmark_report_aggregates_only=true)
  fi
  scripts/servers.sh start redis
  build/release/bench/strata_bench_bus "${flags[@]}"
  scripts/servers.sh stop redis
fi
if [[ $which == postgres || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--benchmark_repetitions=3 --benchmark_enable_random_interleaving=true
      --benchmark_report_aggregates_only=true)
  fi
  scripts/servers.sh start postgres
  build/release/bench/strata_bench_postgres "${flags[@]}"
  scripts/servers.sh stop postgres
fi
if [[ $which == s3 || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
  fi
  scripts/servers.sh start s3
  build/release/bench/strata_bench_s3 "${flags[@]}"
  scripts/servers.sh stop s3
fi
if [[ $which == codec || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
      --benchmark_report_aggregates_only=true)
  fi
  build/release/bench/strata_bench_codec "${flags[@]}"
fi
if [[ $which == drill || $which == all ]]; then
  if (($# > 0)); then flags=("$@"); else
    flags=(--keys 354 --keys 10000 --keys 1000000 --page 10000 --repeat 3 --sample 10000)
  fi
  scripts/servers.sh start redis postgres
  build/release/bench/strata_drill --servers "${flags[@]}"
  scripts/servers.sh stop redis postgres
fi
