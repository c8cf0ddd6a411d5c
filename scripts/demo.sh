#!/usr/bin/env bash
# The main job on the embedded default (no server): installs what is missing,
# builds in release mode, runs the quickstart, then the failover drill on the
# embedded stack — HOT lost and rebuilt from WARM (SQLite) one key at a time,
# then in batches, with a byte-identical check of HOT and the cache.
# Arguments go to the drill (default: --keys 354 --keys 10000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target quickstart strata_drill

echo "== quickstart"
build/release/examples/quickstart
echo
echo "== failover drill"
if (($# == 0)); then set -- --keys 354 --keys 10000; fi
build/release/bench/strata_drill "$@"
