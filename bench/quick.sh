#!/usr/bin/env bash
# Quick loopback comparison: the fake provider directly vs through llmux, with wrk at a fixed
# concurrency. Prints requests/s, p50/p99, llmux CPU time per request (from /proc) and RSS.
#   bench/quick.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
conns=${3:-32}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
cleanup() { kill "${fake_pid:-}" "${gw_pid:-}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

. "$here/fake_upstream.sh"
start_fake_upstream
XDG_STATE_HOME="$tmp/state" "$build/llmux" serve --config "$tmp/config.yaml" --port 0 ${LLMUX_THREADS:+--threads $LLMUX_THREADS} \
  >"$tmp/gw.out" 2>&1 & gw_pid=$!
gw_port=$(wait_listening "$tmp/gw.out")

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

run() {  # name port lua
  local out
  out=$(wrk -t1 -c"$conns" -d"${seconds}s" --latency -s "$3" "http://127.0.0.1:$2/v1/chat/completions")
  local rps p50 p99 non2xx errors
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors/ {print $0}' <<<"$out")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  printf '%-22s %10s rps  p50 %8s  p99 %8s  non-2xx %s %s\n' "$1" "$rps" "$p50" "$p99" "$non2xx" "$errors"
}

echo "wrk -t1 -c$conns -d${seconds}s, plain chat completion (~400 B request, ~400 B response)"
run "direct" "$fake_port" "$here/wrk/chat.lua"
t0=$(ticks "$gw_pid")
run "through llmux" "$gw_port" "$here/wrk/chat.lua"
t1=$(ticks "$gw_pid")
echo "llmux CPU per request: $(awk -v t=$((t1 - t0)) -v n="$total" -v hz="$hz" 'BEGIN {printf "%.1f us", t / hz / n * 1e6}')"
echo
echo "stream of 20 chunks"
run "direct (stream)" "$fake_port" "$here/wrk/stream.lua"
t0=$(ticks "$gw_pid")
run "through llmux (stream)" "$gw_port" "$here/wrk/stream.lua"
t1=$(ticks "$gw_pid")
echo "llmux CPU per stream: $(awk -v t=$((t1 - t0)) -v n="$total" -v hz="$hz" 'BEGIN {printf "%.1f us", t / hz / n * 1e6}')"
echo "llmux RSS after the runs: $(awk '/VmRSS/ {print $2, $3}' /proc/$gw_pid/status), peak $(awk '/VmHWM/ {print $2, $3}' /proc/$gw_pid/status)"
