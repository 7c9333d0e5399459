#!/usr/bin/env bash
# The browser suite: the client's real frontend (built from a copy of ../shared/frontend, as
# delivered) served by `vite preview` on port 8080, driven by Playwright in Debian's Chromium,
# against the real gateway — first on PostgreSQL + Redis with a separate worker process, then
# on the embedded default (SQLite, in-process worker). Needs the services of
# scripts/services.sh (scripts/test.sh starts them). Failures leave a screenshot and the
# page's network log under the folder printed at the end.
#
# Settings: FRONTEND_SRC (../shared/frontend), FRONTEND_BUILD_DIR (~/.cache/switchboard-frontend),
# API_PORT (3900), CONTROL_PORT (3901), BROWSER_MODES ("postgres sqlite"), CHROMIUM
# (/usr/bin/chromium); extra arguments go to `playwright test` (e.g. -g 'settings').
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="${FRONTEND_SRC:-$ROOT/../shared/frontend}"
BUILD="${FRONTEND_BUILD_DIR:-$HOME/.cache/switchboard-frontend}"
API_PORT="${API_PORT:-3900}"
CONTROL_PORT="${CONTROL_PORT:-3901}"
# `postgres-short`: 330-second access tokens, the shortest the frontend lives with: 30 s later it
# is under the frontend's 5-minute threshold, which then refreshes before every request of a
# page, in parallel with one refresh token (the @refresh journeys).
MODES="${BROWSER_MODES:-postgres sqlite postgres-short}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
ARTIFACTS="${BROWSER_ARTIFACTS:-$ROOT/target/browser-artifacts}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x "$CHROMIUM" ]; then
  echo "installing Debian's chromium" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# The suite's own tools, pinned with their dependencies by its lock file (no browser download).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
(cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)

# The frontend, from a copy (../shared is read-only), rebuilt when it or the port changes.
stamp="$( (cat "$SRC/package-lock.json"; find "$SRC/src" -type f -exec cat {} +; echo "$API_PORT") | sha256sum | cut -c1-16)"
if [ "$(cat "$BUILD/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "building the frontend into $BUILD" >&2
  rm -rf "$BUILD" && mkdir -p "$(dirname "$BUILD")" && cp -r "$SRC" "$BUILD"
  (cd "$BUILD" && npm ci --no-audit --no-fund --loglevel=error)
  # It imports axios without declaring it: use the suite's pinned copy, saving nothing.
  ln -sfn "$ROOT/tests/browser/node_modules/axios" "$BUILD/node_modules/axios"
  (cd "$BUILD" && VITE_API_BASE_URL="http://localhost:$API_PORT" npx vite build --logLevel error)
  echo "$stamp" > "$BUILD/.stamp"
fi

cargo build --workspace --bins --quiet
eval "$("$ROOT/scripts/services.sh" env | sed 's/^export DATABASE_URL=/export TEST_DATABASE_URL=/; s/^export REDIS_URL=/export TEST_REDIS_URL=/')"

pids=()
# npx starts vite as a child the subshell's pid does not cover: the preview is stopped by name
# too, or it outlives the suite holding port 8080.
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  pkill -f "vite preview --port 8080 --strictPort" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_for() {
  for _ in $(seq 1 300); do
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$1 did not answer" >&2
  return 1
}

status=0
mkdir -p "$ARTIFACTS"
for mode in $MODES; do
  echo "==> browser journeys on $mode" >&2
  ttl=900 grep=(--grep-invert @refresh)
  if [ "$mode" = postgres-short ]; then ttl=330 grep=(--grep @refresh); fi
  API_PORT="$API_PORT" CONTROL_PORT="$CONTROL_PORT" FRONTEND_URL="http://localhost:8080" \
    ACCESS_TOKEN_TTL_SECS="$ttl" \
    "$TARGET/debug/browser-stack" "${mode%%-*}" > "$ARTIFACTS/$mode-stack.log" 2>&1 &
  stack=$!
  (cd "$BUILD" && VITE_API_BASE_URL="http://localhost:$API_PORT" \
    npx vite preview --port 8080 --strictPort --host 127.0.0.1 > "$ARTIFACTS/$mode-preview.log" 2>&1) &
  preview=$!
  pids=("$stack" "$preview")
  wait_for "http://127.0.0.1:$CONTROL_PORT/health"
  wait_for "http://127.0.0.1:8080/"
  (cd "$ROOT/tests/browser" && API_URL="http://localhost:$API_PORT" \
    CONTROL_URL="http://127.0.0.1:$CONTROL_PORT" FRONTEND_URL="http://localhost:8080" \
    BROWSER_ARTIFACTS="$ARTIFACTS/$mode" npx playwright test "${grep[@]}" "$@") || status=1
  cleanup
  pids=()
done
echo "browser suite artifacts (screenshots, network logs): $ARTIFACTS" >&2
exit "$status"
