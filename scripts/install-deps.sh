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
  libssl-dev                      # SHA-256 and HMAC for the S3 tier's SigV4 signing
  libgtest-dev libbenchmark-dev   # tests and benchmarks
  clang-format clang-tidy         # the style and static-analysis checks in scripts/test.sh
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "installing: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
