#!/usr/bin/env bash
# Installs, from Debian's packages, whatever strata's build, tests and demo
# need and this machine lacks. Idempotent: a machine that has everything
# costs one dpkg query. Run as root (or with sudo available).
set -euo pipefail

packages=(
  g++ cmake make pkg-config       # toolchain
  libboost-dev                    # Boost.Hana (header-only)
  libfmt-dev libxxhash-dev        # core dependencies
  libsqlite3-dev                  # the embedded WARM tier (strata::sqlite)
  libhiredis-dev redis-server     # the Redis HOT tier (strata::redis) and its test server
  libpq-dev postgresql-15         # the PostgreSQL WARM tier (strata::postgres) and its test server
  libcurl4-openssl-dev libssl-dev # the S3 COLD tier (strata::s3): HTTP, SigV4's SHA-256/HMAC
  libpugixml-dev                  # and its XML answers
  curl                            # scripts/servers.sh asks the S3 test server whether it is up
  nlohmann-json3-dev              # JSON text for typed values (strata::json)
  libcli11-dev                    # the strata command's argument parser (tools/strata)
  libgtest-dev libbenchmark-dev   # tests and benchmarks (and strata::testing, strata::bench)
  prometheus-cpp-dev              # metrics for Prometheus (strata::prometheus, ADR 23)
  clang-format clang-tidy         # the style and static-analysis checks in scripts/test.sh
  clang-14 libclang-rt-14-dev     # libFuzzer for scripts/fuzz.sh, ThreadSanitizer (preset tsan)
  gcovr                           # line and branch coverage, scripts/coverage.sh
  valgrind                        # callgrind's instruction counts, scripts/zero-overhead.sh
  doxygen                         # the API reference, checked by scripts/check-docs.sh
  ccache                          # compiler cache: CI runs right after a session, on its cache
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
# The S3 test server runs on Node.js; a machine with its own node and npm
# (e.g. from NodeSource) keeps them, one without gets Debian's.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The S3-compatible test server, from the npm registry, pinned, into a folder
# of the project's that git ignores (scripts/servers.sh runs it from there).
s3rver_version=3.7.1
s3rver_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.local/s3rver
installed=$(node -p "require('$s3rver_dir/node_modules/s3rver/package.json').version" 2>/dev/null || true)
if [[ $installed != "$s3rver_version" ]]; then
  echo "installing: s3rver@$s3rver_version (npm) into $s3rver_dir"
  mkdir -p "$s3rver_dir"
  npm install --prefix "$s3rver_dir" --no-audit --no-fund --loglevel=error "s3rver@$s3rver_version"
fi
