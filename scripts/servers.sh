#!/usr/bin/env bash
# Starts and stops the local servers strata's integration tests and benchmarks
# use, each on 127.0.0.1 and on the project's own port, with its files under
# build/servers/ (ignored by git).
#
#   scripts/servers.sh start|stop|status [redis]
#
# Ports: STRATA_REDIS_PORT (default 16379).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

root=$PWD/build/servers
redis_port=${STRATA_REDIS_PORT:-16379}

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

action=${1:-status}
shift || true
servers=("$@")
((${#servers[@]})) || servers=(redis)
for server in "${servers[@]}"; do
  "${server}_${action}"
done
