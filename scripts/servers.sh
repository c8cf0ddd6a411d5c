#!/usr/bin/env bash
# Starts and stops the local servers strata's integration tests and benchmarks
# use, each on 127.0.0.1 and on the project's own port, with Redis' and
# s3rver's files under build/servers/ (ignored by git) and PostgreSQL's under /tmp.
#
#   scripts/servers.sh start|stop|status [redis] [postgres] [s3] [cluster] [sentinel]
#
# cluster: a Redis Cluster of 3 masters + 3 replicas on ports 16501-16506
# (STRATA_CLUSTER_PORT is the first), cluster-node-timeout 1000 ms so that a
# killed master's replica takes over in about 2 s. sentinel: a master on 16511,
# its replica on 16512 and 3 sentinels on 16521-16523 watching it as
# "strata-master" (down-after-milliseconds 1000). Each node's config file is
# build/servers/<cluster|sentinel>/<port>/redis.conf: the fault tests kill a
# node and start it again from that file.
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
s3rver_installed=$PWD/.local/s3rver/node_modules/s3rver/bin/s3rver.js
# s3rver with atomic PUTs (ADR 21): the tests' concurrent laws overlap writes of one key.
s3rver_js=$PWD/scripts/s3rver.js

s3_answers() {
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$s3_port/strata?list-type=2&max-keys=1"
}

s3_start() {
  local dir=$root/s3rver
  if s3_answers; then
    echo "s3: already answering on 127.0.0.1:$s3_port"
    return
  fi
  [[ -f $s3rver_installed ]] || {
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


cluster_port=${STRATA_CLUSTER_PORT:-16501}
cluster_ports() { seq "$cluster_port" $((cluster_port + 5)); }

# A redis-server from a config file in its own directory (the file also lets a
# test restart a node it killed: redis-server <dir>/redis.conf).
redis_node_start() {
  local dir=$1 port=$2
  shift 2
  rm -rf "$dir"
  mkdir -p "$dir"
  {
    echo "bind 127.0.0.1"
    echo "port $port"
    echo "save \"\""
    echo "appendonly no"
    echo "dir $dir"
    echo "daemonize yes"
    echo "pidfile $dir/redis.pid"
    echo "logfile $dir/redis.log"
    # A full sync starts at once, not after diskless sync's default 5 s wait
    # for more replicas: the fault tests' rejoining node is unsynced (and
    # must not be promoted) for as short a time as possible.
    echo "repl-diskless-sync-delay 0"
    printf '%s\n' "$@"
  } >"$dir/redis.conf"
  redis-server "$dir/redis.conf"
}

wait_until() {  # wait_until <what> <tries of 0.1 s> <command...>
  local what=$1 tries=$2
  shift 2
  for _ in $(seq "$tries"); do
    "$@" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "$what: not ready in time" >&2
  exit 1
}

cluster_answers() {
  for port in $(cluster_ports); do
    redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || return 1
  done
}

# Every replica has finished its first sync (else WAIT finds none).
replicas_synced() {
  local up=0
  for port in "$@"; do
    redis-cli -h 127.0.0.1 -p "$port" info replication | grep -q 'master_link_status:up' && up=$((up + 1))
  done
  local replicas=0
  for port in "$@"; do
    redis-cli -h 127.0.0.1 -p "$port" info replication | grep -q 'role:slave' && replicas=$((replicas + 1))
  done
  [[ $replicas -gt 0 && $up -eq $replicas ]]
}

cluster_start() {
  if cluster_answers; then
    echo "cluster: already answering on 127.0.0.1:$cluster_port-$((cluster_port + 5))"
    return
  fi
  cluster_stop >/dev/null
  local nodes=()
  for port in $(cluster_ports); do
    redis_node_start "$root/cluster/$port" "$port" "cluster-enabled yes" \
      "cluster-config-file $root/cluster/$port/nodes.conf" "cluster-node-timeout 1000" \
      "cluster-replica-validity-factor 0" "cluster-allow-replica-migration no"
    nodes+=("127.0.0.1:$port")
  done
  for port in $(cluster_ports); do
    wait_until "cluster node $port" 100 redis-cli -h 127.0.0.1 -p "$port" ping
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$root/cluster/create.log" 2>&1 || {
    cat "$root/cluster/create.log" >&2
    exit 1
  }
  wait_until "cluster" 300 cluster_answers
  # shellcheck disable=SC2046
  wait_until "cluster replicas" 300 replicas_synced $(cluster_ports)
  echo "cluster: up on 127.0.0.1:$cluster_port-$((cluster_port + 5)) (3 masters, 3 replicas)"
}

cluster_stop() {
  for port in $(cluster_ports); do
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$root/cluster"
  echo "cluster: stopped"
}

cluster_status() {
  redis-cli -h 127.0.0.1 -p "$cluster_port" cluster info | grep cluster_state
}

sentinel_master_port=${STRATA_SENTINEL_MASTER_PORT:-16511}
sentinel_port=${STRATA_SENTINEL_PORT:-16521}
sentinel_ports() { seq "$sentinel_port" $((sentinel_port + 2)); }

sentinels_see_master() {
  for port in $(sentinel_ports); do
    redis-cli -h 127.0.0.1 -p "$port" sentinel master strata-master 2>/dev/null |
      grep -A1 '^num-other-sentinels$' | tail -1 | grep -q '^2$' || return 1
  done
}

sentinel_start() {
  if sentinels_see_master; then
    echo "sentinel: already answering on 127.0.0.1:$sentinel_port-$((sentinel_port + 2))"
    return
  fi
  sentinel_stop >/dev/null
  local master=$sentinel_master_port replica=$((sentinel_master_port + 1))
  redis_node_start "$root/sentinel/$master" "$master"
  redis_node_start "$root/sentinel/$replica" "$replica" "replicaof 127.0.0.1 $master"
  wait_until "sentinel replica" 100 replicas_synced "$master" "$replica"
  for port in $(sentinel_ports); do
    local dir=$root/sentinel/$port
    mkdir -p "$dir"
    {
      echo "bind 127.0.0.1"
      echo "port $port"
      echo "daemonize yes"
      echo "dir $dir"
      echo "pidfile $dir/sentinel.pid"
      echo "logfile $dir/sentinel.log"
      echo "sentinel monitor strata-master 127.0.0.1 $master 2"
      echo "sentinel down-after-milliseconds strata-master 1000"
      echo "sentinel failover-timeout strata-master 5000"
      echo "sentinel parallel-syncs strata-master 1"
    } >"$dir/sentinel.conf"
    redis-server "$dir/sentinel.conf" --sentinel
  done
  wait_until "sentinels" 300 sentinels_see_master
  echo "sentinel: master 127.0.0.1:$master, replica :$replica, sentinels :$sentinel_port-$((sentinel_port + 2)) (strata-master)"
}

sentinel_stop() {
  for port in $(sentinel_ports) "$sentinel_master_port" $((sentinel_master_port + 1)); do
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$root/sentinel"
  echo "sentinel: stopped"
}

sentinel_status() {
  redis-cli -h 127.0.0.1 -p "$sentinel_port" sentinel get-master-addr-by-name strata-master
}

action=${1:-status}
shift || true
servers=("$@")
((${#servers[@]})) || servers=(redis postgres s3 cluster sentinel)
for server in "${servers[@]}"; do
  "${server}_${action}"
done
