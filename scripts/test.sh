#!/usr/bin/env bash
# The test command: starts PostgreSQL and Redis on loopback (installing them if needed) and
# runs every test of the workspace — unit tests and the end-to-end suite, against
# PostgreSQL+Redis and against SQLite — then the browser suite (the client's real frontend in
# Chromium, scripts/browser.sh). Extra arguments go to `cargo test`; BROWSER=0 skips the
# browser suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/services.sh start
# Leftovers of earlier runs (a database per test) would fill the disk over time.
scripts/services.sh clean
eval "$(scripts/services.sh env | sed 's/^export DATABASE_URL=/export TEST_DATABASE_URL=/; s/^export REDIS_URL=/export TEST_REDIS_URL=/')"
cargo test --workspace "$@"
if [ "${BROWSER:-1}" != 0 ]; then
  scripts/browser.sh
fi
