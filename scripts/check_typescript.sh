#!/usr/bin/env bash
# Generates TypeScript types from the gateway's OpenAPI document with openapi-typescript (npm)
# and type-checks tests/typescript-client/src/usage.ts against them: a contract the frontend cannot
# consume (invalid document, renamed field, lost status) fails here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchboard-target}"
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The document as the gateway serves it (an embedded database in a scratch directory).
DATA_DIR="$work" DATABASE_URL="sqlite://$work/spec.db?mode=rwc" LOG_LEVEL=error \
  cargo run -q -p api --bin api -- openapi > "$work/openapi.json"

cd tests/typescript-client
npm ci --no-audit --no-fund --silent
npx openapi-typescript "$work/openapi.json" -o src/schema.d.ts
npx tsc --noEmit
echo "TypeScript client: generated and type-checked"
