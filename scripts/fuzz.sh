#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer of every parser that reads bytes
# strata did not write: the JSON codec, the envelope decoder, the snapshot
# manifest and page reader, the S3 XML answers and the `strata` command's
# backend URL parser (tests/fuzz/*_fuzz.cpp). Each is built with clang
# (-fsanitize=fuzzer,address,undefined) and run from its committed seeds
# (tests/fuzz/seeds/<target>/). Any crash, sanitizer report or broken promise
# fails the run, and the input that caused it is left in build/fuzz/<target>/.
#
#   scripts/fuzz.sh [seconds]   each target for that long (default 12; scripts/test.sh runs it)
#   scripts/fuzz.sh --long      each target to 10 million executions, then its counts
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

limit=(-max_total_time="${1:-12}")
[[ ${1:-} == --long ]] && limit=(-runs=10000000)

out=build/fuzz
targets=(json_codec envelope snapshot s3_xml backend_url)
# Libraries per target, beyond what every target links.
declare -A libs=(
  [json_codec]=""
  [envelope]=""
  [snapshot]=""
  [s3_xml]="-lpugixml"
  [backend_url]="-lpugixml -lhiredis -lpq -lsqlite3 -lcurl -lcrypto"
)
declare -A max_len=([json_codec]=4096 [envelope]=4096 [snapshot]=8192 [s3_xml]=8192 [backend_url]=512)

for target in "${targets[@]}"; do
  dir=$out/$target
  mkdir -p "$dir/corpus"
  # shellcheck disable=SC2086  # the library list is split on purpose
  clang++-14 -std=c++20 -O1 -g -Wall -Wextra -Wpedantic -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Iinclude -Itests -I. -I/usr/include/postgresql "tests/fuzz/${target}_fuzz.cpp" \
    -o "$dir/fuzz" -lxxhash -lfmt ${libs[$target]}
  # The corpus grows in build/; the committed seeds stay as they are.
  cp "tests/fuzz/seeds/$target"/* "$dir/corpus/"
  echo "== fuzz $target"
  status=0
  "$dir/fuzz" "${limit[@]}" -max_len="${max_len[$target]}" -artifact_prefix="$dir/" \
    -print_final_stats=1 "$dir/corpus" >"$dir/log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "$dir/log" || true
  if ((status != 0)); then
    tail -n 40 "$dir/log" >&2
    echo "fuzz $target: failed (exit $status); the input is in $dir/" >&2
    exit 1
  fi
done
