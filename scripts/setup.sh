#!/usr/bin/env bash
# Installs every Debian package llmux needs to build and test, plus any package names given as
# arguments (bench/run.sh adds what only the benchmarks need).
# Idempotent: packages already present are skipped quickly.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev
  libcurl4-openssl-dev libssl-dev
  libsimdjson-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  wrk
  prometheus  # promtool: the integration test checks the /metrics exposition with it
  chromium    # the dashboard's browser test (tests/ui) drives Debian's headless chromium
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The openai npm compatibility test needs node and npm; any working installation will do.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The dashboard's browser test drives chromium with the pinned puppeteer-core (tests/ui); the
# package brings no browser of its own. Installed when missing or older than its lock file.
ui_tests="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/ui" && pwd)"
if [ ! -d "$ui_tests/node_modules" ] || [ "$ui_tests/package-lock.json" -nt "$ui_tests/node_modules" ]; then
  echo "setup: npm ci in tests/ui (puppeteer-core)"
  (cd "$ui_tests" && npm ci --no-audit --no-fund --loglevel=error) && touch "$ui_tests/node_modules"
fi
