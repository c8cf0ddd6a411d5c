#!/usr/bin/env bash
# Coverage-guided fuzzing of JsonCodec::decode with libFuzzer: builds
# tests/fuzz/json_codec_fuzz.cpp with clang (-fsanitize=fuzzer,address,
# undefined) and runs it for a bounded time from the committed seeds. Any
# crash, sanitizer report or broken codec promise fails the run, and the
# input that caused it is left in build/fuzz/.
#
#   scripts/fuzz.sh [seconds]   (default 60; scripts/test.sh runs it)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
out=build/fuzz
mkdir -p "$out/corpus"
clang++-14 -std=c++20 -O1 -g -Wall -Wextra -Wpedantic -Werror \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Iinclude -Itests tests/fuzz/json_codec_fuzz.cpp -o "$out/json_codec_fuzz"
# The corpus grows in build/; the committed seeds stay as they are.
cp tests/fuzz/seeds/* "$out/corpus/"
"$out/json_codec_fuzz" -max_total_time="$seconds" -max_len=4096 -artifact_prefix="$out/" \
  -print_final_stats=1 "$out/corpus" 2>&1 | tail -n 12
