#!/usr/bin/env bash
# Contract fuzzing: installs schemathesis from PyPI into a virtualenv (cached under
# ~/.cache/switchboard-schemathesis) and runs it against a gateway on PostgreSQL + Redis with
# the providers faked (tests/src/bin/contract-fuzz.rs). Needs `scripts/services.sh start`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchboard-target}"
VERSION=4.32.5
venv="${SCHEMATHESIS_VENV:-$HOME/.cache/switchboard-schemathesis}"
constraints="scripts/schemathesis-constraints.txt"
stamp="$(sha256sum "$constraints" | cut -c1-16)"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$VERSION" \
  || [ "$(cat "$venv/.constraints" 2>/dev/null)" != "$stamp" ]; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  # Every dependency pinned too: a fresh machine resolves exactly what CI was green with.
  "$venv/bin/pip" install --quiet -c "$constraints" "schemathesis==$VERSION"
  echo "$stamp" > "$venv/.constraints"
fi
eval "$(scripts/services.sh env | sed 's/^export DATABASE_URL=/export TEST_DATABASE_URL=/; s/^export REDIS_URL=/export TEST_REDIS_URL=/')"
SCHEMATHESIS="$venv/bin/schemathesis" cargo run -q -p tests --bin contract-fuzz
