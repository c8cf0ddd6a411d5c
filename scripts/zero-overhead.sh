#!/usr/bin/env bash
# The store's fixed cost over the hand-written call, in instructions:
# bench/zero_overhead.cpp built by the release preset (CMake's Release flags), run
# under callgrind; each store function's inclusive instruction count divided
# by its hand-written twin's (set, get; 100,000 calls each). Instruction
# counts are deterministic, so the check is exact on any machine: it fails
# when a ratio exceeds STRATA_MAX_OVERHEAD (default 1.05, issue 21's gate,
# which scripts/test.sh applies).
#
#   scripts/zero-overhead.sh [calls]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
calls=${1:-100000}
max_ratio=${STRATA_MAX_OVERHEAD:-1.05}

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target strata_zero_overhead >/dev/null
out=build/release/zero-overhead.callgrind
valgrind --tool=callgrind --callgrind-out-file="$out" \
  build/release/bench/strata_zero_overhead "$calls" 2>build/release/zero-overhead.log
callgrind_annotate --inclusive=yes --threshold=100 "$out" >build/release/zero-overhead.txt
python3 - "$calls" "$max_ratio" build/release/zero-overhead.txt <<'PY'
import re, sys
calls, max_ratio, report = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ir = {}
for line in open(report):
    m = re.match(r"\s*([\d,]+)\s.*zero_overhead::(\w+_(?:set|get))\(", line)
    if m and m.group(2) not in ir:
        ir[m.group(2)] = int(m.group(1).replace(",", ""))
missing = {"hand_written_set", "store_set", "hand_written_get", "store_get"} - ir.keys()
if missing:
    sys.exit(f"zero-overhead: no callgrind count for {sorted(missing)} in {report}")
worst = 0.0
for op in ("set", "get"):
    store, hand = ir[f"store_{op}"] / calls, ir[f"hand_written_{op}"] / calls
    ratio = store / hand
    worst = max(worst, ratio)
    print(f"{op}: TieredStore {store:.0f} instructions per call, hand-written {hand:.0f}: {ratio:.3f}x")
    if f"counted_{op}" in ir:
        counted = ir[f"counted_{op}"] / calls
        print(f"{op} with the default counters (StripedStats, not gated): {counted:.0f}: {counted / hand:.3f}x")
print(f"limit {max_ratio:.2f}x ({calls} calls each, callgrind, release build)")
sys.exit(0 if worst <= max_ratio else 1)
PY
