#!/usr/bin/env bash
# One command for the llmux benchmarks: installs what is missing (Debian packages, the pinned
# Portkey gateway from npm), builds llmux in Release, then runs bench/bench.py, which starts the
# upstreams and gateways on 127.0.0.1 and writes bench/results/bench-*.{md,json,png}.
#
#   bench/run.sh            default run: 4 targets x 2 upstreams x 3 cases x 3 rounds, open streams (~12 min)
#   bench/run.sh --smoke    one 1 s round of everything (for CI)
#   bench/run.sh --long     also 1,000,000 requests through llmux checking that RSS does not grow
#   bench/run.sh --help     every option
#
# Environment: LLMUX_BENCH_BUILD (build directory, default build-bench), LLMUX_BENCH_SKIP_INSTALL=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${LLMUX_BENCH_BUILD:-$root/build-bench}

for arg in "$@"; do
  if [ "$arg" = "-h" ] || [ "$arg" = "--help" ]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exec python3 "$here/bench.py" --help
  fi
done

say() { echo "[run.sh] $*"; }

# 1. Debian packages: the build dependencies (scripts/setup.sh), then what only the bench needs.
if [ "${LLMUX_BENCH_SKIP_INSTALL:-0}" != 1 ]; then
  bash "$root/scripts/setup.sh" nginx gnuplot-nox python3

  # 2. The Portkey gateway, exactly as pinned in bench/portkey/package-lock.json.
  marker="$here/portkey/node_modules/.package-lock.json"
  if [ ! -f "$marker" ] || [ "$here/portkey/package-lock.json" -nt "$marker" ] ||
     [ ! -f "$here/portkey/node_modules/@portkey-ai/gateway/build/start-server.js" ]; then
    say "installing the Portkey gateway (npm ci in bench/portkey)"
    (cd "$here/portkey" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
fi

# 3. llmux and the fake provider in Release.
quiet() {  # runs a step, shows its output only when it fails
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" | tail -n 60 >&2
    say "failed: $*"
    exit 1
  fi
}
if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
  say "configuring $build (Release)"
  quiet cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMUX_BUILD_TESTS=OFF \
    -DLLMUX_BUILD_BENCH=OFF --no-warn-unused-cli
fi
say "building llmux, llmux-fake-provider and llmux-loadgen in $build"
quiet cmake --build "$build" --target llmux llmux-fake-provider llmux-loadgen -- -j "$(nproc)"

# 4. Enough file descriptors for 10,000 open streams (llmux holds two sockets per stream).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec python3 "$here/bench.py" --build "$build" "$@"
