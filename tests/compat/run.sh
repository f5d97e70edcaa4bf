#!/usr/bin/env bash
# Runs the official `openai` npm package against llmux (see openai_compat.test.mjs).
# usage: run.sh LLMUX_BINARY LLMUX_FAKE_PROVIDER_BINARY
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 LLMUX_BINARY LLMUX_FAKE_PROVIDER_BINARY" >&2
  exit 2
fi
abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
LLMUX_BINARY="$(abs "$1")"
LLMUX_FAKE_BINARY="$(abs "$2")"
export LLMUX_BINARY LLMUX_FAKE_BINARY
for bin in "$LLMUX_BINARY" "$LLMUX_FAKE_BINARY"; do
  [ -x "$bin" ] || { echo "run.sh: not an executable: $bin" >&2; exit 2; }
done

cd "$(dirname "${BASH_SOURCE[0]}")"

# Install the pinned package when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  log="$(mktemp)"
  if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "run.sh: npm ci failed" >&2
    exit 1
  fi
  rm -f "$log"
  touch node_modules
fi

exec node --test openai_compat.test.mjs
