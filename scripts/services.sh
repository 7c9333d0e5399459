#!/usr/bin/env bash
# Starts PostgreSQL and Redis on loopback for development and tests, without systemd or Docker.
# Installs them from Debian packages when missing (needs root or sudo).
#
#   scripts/services.sh start   install if needed, start both, print the URLs
#   scripts/services.sh stop    stop both (by pid)
#   scripts/services.sh status  show whether each is running
#   scripts/services.sh env     print export lines for the URLs
#   scripts/services.sh up [N]  the compose file's start-up order without Docker: the services,
#                               a one-shot `api migrate`, then the gateway and N workers (2)
#                               in the background, waiting until /ready answers
#   scripts/services.sh down    stop the gateway and workers that `up` started
#   scripts/services.sh restart-postgres   fast-stop and start PostgreSQL (fault tests)
#
# Settings: SERVICES_DIR (default /tmp/switchboard-services), PG_PORT (5433), REDIS_PORT (6380),
# STACK_PORT (3000) for `up`; `up` builds the binaries into CARGO_TARGET_DIR (default ./target).
#
# DURABLE=1 runs a second pair the way production does, for published benchmark figures:
# PostgreSQL at its defaults (fsync, synchronous_commit and full_page_writes on) and Redis AOF
# with appendfsync everysec, in /tmp/switchboard-durable on ports 5434 and 6381 unless set.
#   DURABLE=1 scripts/services.sh start
set -euo pipefail

# Outside the clone: PostgreSQL runs as its own user and must be able to reach its data
# directory, which a clone under /root would not allow.
if [ "${DURABLE:-0}" = 1 ]; then
  DIR="${SERVICES_DIR:-/tmp/switchboard-durable}"
  PG_PORT="${PG_PORT:-5434}"
  REDIS_PORT="${REDIS_PORT:-6381}"
  # Nothing turned off: every commit waits for its WAL flush, as in production.
  PG_DURABILITY=()
else
  DIR="${SERVICES_DIR:-/tmp/switchboard-services}"
  PG_PORT="${PG_PORT:-5433}"
  REDIS_PORT="${REDIS_PORT:-6380}"
  # Tests create a database each; fsync off is safe for a throwaway cluster and much faster.
  PG_DURABILITY=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
fi
DATABASE_URL="postgres://postgres@127.0.0.1:${PG_PORT}/postgres"
REDIS_URL="redis://127.0.0.1:${REDIS_PORT}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

install() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || missing+=(postgresql)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} from Debian packages" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # The packages' own init scripts would try systemd; nothing is started here.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

redis_running() {
  [ -f "$DIR/redis.pid" ] && kill -0 "$(cat "$DIR/redis.pid")" 2>/dev/null
}

pg_running() {
  [ -f "$DIR/pg/data/postmaster.pid" ] && kill -0 "$(head -1 "$DIR/pg/data/postmaster.pid")" 2>/dev/null
}

start_redis() {
  if redis_running; then return; fi
  mkdir -p "$DIR/redis"
  # AOF on: a restart of Redis loses no queued doorbells.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --pidfile "$DIR/redis.pid" --dir "$DIR/redis" --logfile "$DIR/redis.log" \
    --appendonly yes --appendfsync everysec --save ""
  for _ in $(seq 1 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "redis did not start; see $DIR/redis.log" >&2
  exit 1
}

start_pg() {
  if pg_running; then return; fi
  local bin; bin="$(pg_bin)"
  local run=()
  if [ "$(id -u)" -eq 0 ]; then run=(runuser -u postgres --); fi
  mkdir -p "$DIR/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR/pg"
  if [ ! -f "$DIR/pg/data/PG_VERSION" ]; then
    "${run[@]}" "$bin/initdb" -D "$DIR/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  "${run[@]}" "$bin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $DIR/pg -c max_connections=500 ${PG_DURABILITY[*]:-}" \
    start >/dev/null
}

# Signals a process and waits (up to 30 s) until it is gone, so a following start finds the
# port free.
stop_pid() {
  local pid=$1 sig=$2
  kill "-$sig" "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "process $pid did not stop" >&2
  return 1
}

# Drops the databases and Redis keys earlier test runs left (each test makes its own).
clean_test_data() {
  local bin; bin="$(pg_bin)"
  local dbs
  dbs=$("$bin/psql" "$DATABASE_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'sb_test_%'")
  for db in $dbs; do
    # A database still in use belongs to a test or benchmark running now: leave it.
    "$bin/psql" "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
  done
  redis-cli -p "$REDIS_PORT" --scan --pattern 'sbtest_*' | xargs -r -n 500 redis-cli -p "$REDIS_PORT" del >/dev/null
  redis-cli -p "$REDIS_PORT" bgrewriteaof >/dev/null
}

print_env() {
  echo "export DATABASE_URL=$DATABASE_URL"
  echo "export REDIS_URL=$REDIS_URL"
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="$DIR/stack"

stack_down() {
  for pidfile in "$STACK"/*.pid; do
    [ -e "$pidfile" ] || continue
    local pid; pid=$(cat "$pidfile")
    # SIGTERM: the gateway drains requests and workers finish the jobs in flight.
    if kill -0 "$pid" 2>/dev/null; then stop_pid "$pid" TERM; fi
    rm -f "$pidfile"
  done
}

stack_up() {
  local workers="${1:-2}" port="${STACK_PORT:-3000}"
  stack_down
  mkdir -p "$STACK"
  (cd "$ROOT" && cargo build -q -p api -p worker)
  local bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
  local db="postgres://postgres@127.0.0.1:${PG_PORT}/switchboard"
  "$(pg_bin)/psql" "$DATABASE_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'switchboard'" | grep -q 1 ||
    "$(pg_bin)/psql" "$DATABASE_URL" -qc "CREATE DATABASE switchboard"
  [ -s "$STACK/jwt_secret" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$STACK/jwt_secret"
  export DATABASE_URL="$db" REDIS_URL="$REDIS_URL" JWT_SECRET_FILE="$STACK/jwt_secret" \
    DATA_DIR="$STACK/data" STORAGE_DIR="$STACK/data/files" AUTO_MIGRATE=false \
    EMBEDDED_WORKER=false LOG_FORMAT=json PORT="$port"
  # The compose file's order: migrate (one-shot), then the gateway and the workers.
  "$bin/api" migrate > "$STACK/migrate.log" 2>&1 || { cat "$STACK/migrate.log" >&2; exit 1; }
  nohup "$bin/api" serve > "$STACK/api.log" 2>&1 &
  echo $! > "$STACK/api.pid"
  for i in $(seq 1 "$workers"); do
    WORKER_NAME="worker$i" nohup "$bin/worker" > "$STACK/worker$i.log" 2>&1 &
    echo $! > "$STACK/worker$i.pid"
  done
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then
      echo "gateway: http://127.0.0.1:$port (logs and pids in $STACK), workers: $workers"
      return 0
    fi
    sleep 0.5
  done
  echo "the gateway did not become ready; see $STACK/api.log" >&2
  tail -20 "$STACK/api.log" >&2
  exit 1
}

case "${1:-}" in
  up)
    "$0" start
    stack_up "${2:-2}"
    ;;
  restart-postgres)
    # Fast shutdown: sessions are cut, as when the server crashes or fails over.
    if pg_running; then
      stop_pid "$(head -1 "$DIR/pg/data/postmaster.pid")" INT
    fi
    start_pg
    echo "postgresql restarted"
    ;;
  down)
    stack_down
    echo "gateway and workers stopped"
    ;;
  start)
    install
    # PostgreSQL refuses to run as root and needs to traverse to its data directory.
    mkdir -p "$DIR"; chmod 755 "$DIR"
    start_redis
    start_pg
    echo "PostgreSQL: $DATABASE_URL"
    echo "Redis:      $REDIS_URL"
    ;;
  stop)
    if redis_running; then
      stop_pid "$(cat "$DIR/redis.pid")" TERM
      echo "redis stopped"
    fi
    if pg_running; then
      stop_pid "$(head -1 "$DIR/pg/data/postmaster.pid")" INT
      echo "postgresql stopped"
    fi
    ;;
  status)
    redis_running && echo "redis: running ($REDIS_URL)" || echo "redis: stopped"
    pg_running && echo "postgresql: running ($DATABASE_URL)" || echo "postgresql: stopped"
    ;;
  env)
    print_env
    ;;
  clean)
    clean_test_data
    ;;
  *)
    echo "usage: $0 start|stop|status|env|clean|up [workers]|down|restart-postgres" >&2
    exit 2
    ;;
esac
