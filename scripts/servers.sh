#!/usr/bin/env bash
# Starts and stops the local servers strata's integration tests and benchmarks
# use, each on 127.0.0.1 and on the project's own port, with Redis' and
# s3rver's files under build/servers/ (ignored by git) and PostgreSQL's under /tmp.
#
#   scripts/servers.sh start|stop|status [redis] [postgres] [s3]
#
# Ports: STRATA_REDIS_PORT (default 16379), STRATA_PG_PORT (default 16432),
# STRATA_S3_PORT (default 16400; bucket "strata", installed by install-deps.sh).
# PostgreSQL is a throwaway cluster: created at start, removed at stop;
# database "strata", user "postgres", password STRATA_PG_PASSWORD (default
# "strata-test"), checked with scram-sha-256 on 127.0.0.1 (the tests use a wrong
# one on purpose).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

root=$PWD/build/servers
redis_port=${STRATA_REDIS_PORT:-16379}
pg_port=${STRATA_PG_PORT:-16432}
pg_bin=/usr/lib/postgresql/15/bin
# Outside the work tree: the postgres user must reach it, and a clone under
# /root would not be reachable.
pg_dir=/tmp/strata-postgres-$pg_port
pg_password=${STRATA_PG_PASSWORD:-strata-test}

redis_start() {
  local dir=$root/redis
  mkdir -p "$dir"
  if redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
    echo "redis: already answering on 127.0.0.1:$redis_port"
    return
  fi
  # No persistence: the kill -9 test runs a durable server of its own.
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 100); do
    redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && {
      echo "redis: up on 127.0.0.1:$redis_port"
      return
    }
    sleep 0.05
  done
  echo "redis: did not start; see $dir/redis.log" >&2
  exit 1
}

redis_stop() {
  redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$root/redis"
  echo "redis: stopped"
}

redis_status() {
  redis-cli -h 127.0.0.1 -p "$redis_port" ping
}

# initdb and the server refuse to run as root: they run as the postgres user,
# which the postgresql package created.
as_postgres() {
  if [[ $(id -un) == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}

postgres_start() {
  local dir=$pg_dir
  if [[ -f $dir/data/postmaster.pid ]] && pg_isready -q -h 127.0.0.1 -p "$pg_port"; then
    echo "postgres: already answering on 127.0.0.1:$pg_port"
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  [[ $(id -un) == postgres ]] || chown postgres: "$dir"
  printf '%s\n' "$pg_password" >"$dir/pwfile"
  chown postgres: "$dir/pwfile"
  as_postgres "$pg_bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
  # The socket lives in the cluster's directory; TCP only on 127.0.0.1.
  as_postgres "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir -c max_connections=200" start >/dev/null || {
    cat "$dir/postgres.log" >&2
    exit 1
  }
  as_postgres psql -h "$dir" -p "$pg_port" -U postgres -d postgres -qc "CREATE DATABASE strata" >/dev/null
  echo "postgres: up on 127.0.0.1:$pg_port (database strata)"
}

postgres_stop() {
  local dir=$pg_dir
  if [[ -d $dir/data ]]; then
    as_postgres "$pg_bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  echo "postgres: stopped"
}

postgres_status() {
  pg_isready -h 127.0.0.1 -p "$pg_port"
}

s3_port=${STRATA_S3_PORT:-16400}
s3rver_js=$PWD/.local/s3rver/node_modules/s3rver/bin/s3rver.js

s3_answers() {
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$s3_port/strata?list-type=2&max-keys=1"
}

s3_start() {
  local dir=$root/s3rver
  if s3_answers; then
    echo "s3: already answering on 127.0.0.1:$s3_port"
    return
  fi
  [[ -f $s3rver_js ]] || {
    echo "s3: s3rver is not installed; run scripts/install-deps.sh" >&2
    exit 1
  }
  rm -rf "$dir"
  mkdir -p "$dir/data"
  # Node needs the legacy provider, or every truncated listing answers 500.
  # Plain nohup with $! recorded: a subshell would keep our stdout open.
  # --service-endpoint: "strata.s3.localhost" (curl resolves *.localhost to
  # 127.0.0.1 itself) reaches the bucket in virtual-hosted style.
  nohup node --openssl-legacy-provider "$s3rver_js" -s -d "$dir/data" -a 127.0.0.1 -p "$s3_port" \
    --no-vhost-buckets --service-endpoint localhost --configure-bucket strata \
    </dev/null >"$dir/s3rver.log" 2>&1 &
  echo $! >"$dir/s3rver.pid"
  for _ in $(seq 200); do
    s3_answers && {
      echo "s3: up on 127.0.0.1:$s3_port (bucket strata)"
      return
    }
    sleep 0.05
  done
  echo "s3: did not start; see $dir/s3rver.log" >&2
  cat "$dir/s3rver.log" >&2
  exit 1
}

s3_stop() {
  local dir=$root/s3rver
  if [[ -f $dir/s3rver.pid ]]; then
    local pid
    pid=$(cat "$dir/s3rver.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
  fi
  rm -rf "$dir"
  echo "s3: stopped"
}

s3_status() {
  s3_answers && echo "s3: 127.0.0.1:$s3_port answering"
}

action=${1:-status}
shift || true
servers=("$@")
((${#servers[@]})) || servers=(redis postgres s3)
for server in "${servers[@]}"; do
  "${server}_${action}"
done
