#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds in
# release mode, runs the quickstart, then the failover drill (HOT rebuilt from
# WARM one key at a time, then in batches).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target quickstart strata_drill

echo "== quickstart"
build/release/examples/quickstart
echo
echo "== failover drill"
build/release/bench/strata_drill "$@"
