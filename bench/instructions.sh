#!/usr/bin/env bash
# Instructions and heap allocations llmux spends per proxied request, repeatably (CPU time on a
# shared 2-core machine is too noisy to see a 5% change). llmux runs under callgrind twice, with
# N requests and with none, at a low fixed rate from llmux-loadgen; the difference divided by N
# is the per-request cost. Heap allocations come the same way from memcheck's heap summary.
#   bench/instructions.sh [BUILD_DIR] [REQUESTS] [CONFIG_TEMPLATE MODEL]
# CONFIG_TEMPLATE replaces the one-provider config (@FAKE_PORT@ becomes the fake provider's port),
# and the request asks for MODEL (e.g. bench/routed.yaml routed). HEADER='Name: value' adds a
# request header (a gateway key); STATE_DIR=dir runs llmux with that state dir (one where `llmux keys create` made a key).
# BODY=stream sends the body of bench/wrk/stream.lua (a stream of 20 chunks) instead of chat.lua's.
set -euo pipefail
build=${1:-build}
loadgen=${LOADGEN:-$build/llmux-loadgen}
requests=${2:-2000}
template=${3:-}
model=${4:-fake-model}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
cleanup() {
  kill "${fake_pid:-}" "${gw_pid:-}" 2>/dev/null || true
  [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$tmp"/callgrind.* "$tmp"/memcheck.* "$KEEP"/ 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

. "$here/fake_upstream.sh"
start_fake_upstream
[ -n "$template" ] && sed "s/@FAKE_PORT@/$fake_port/g" "$template" >"$tmp/config.yaml"
sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$here/wrk/${BODY:-chat}.lua" | sed "s/\"model\":\"fake-model\"/\"model\":\"$model\"/" >"$tmp/body.json"

profile() {  # tool requests -> the tool's total (instructions, or heap allocations)
  local tool=$1 n=$2 out=$tmp/$1.$2
  local args=(--tool=callgrind --callgrind-out-file="$out")
  [ "$tool" = memcheck ] && args=(--tool=memcheck --leak-check=no --log-file="$out")
  XDG_STATE_HOME="${STATE_DIR:-$tmp/state}" valgrind "${args[@]}" \
    "$build/llmux" serve --config "$tmp/config.yaml" --port 0 --threads 1 >"$tmp/gw.$n" 2>&1 & gw_pid=$!
  local port
  port=$(wait_listening "$tmp/gw.$n")
  if [ "$n" -gt 0 ]; then
    local rate=200
    "$loadgen" --url "http://127.0.0.1:$port/v1/chat/completions" --body "$tmp/body.json" \
      ${HEADER:+--header "$HEADER"} --rate $rate --connections 4 --duration $(( (n + rate - 1) / rate )) --warmup 0 >"$tmp/load.$tool" 2>&1
  fi
  kill -TERM "$gw_pid"; wait "$gw_pid" || true
  if [ "$tool" = memcheck ]; then
    awk '/total heap usage:/ {gsub(",", "", $5); print $5}' "$out"
  else
    callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  fi
}

for tool in callgrind memcheck; do
  idle=$(profile $tool 0)
  busy=$(profile $tool "$requests")
  done_requests=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$tmp/load.$tool")
  what=instructions; [ $tool = memcheck ] && what=allocations
  echo "$what per request: $(( (busy - idle) / done_requests ))  ($busy with $done_requests requests, $idle idle)"
  echo "  loadgen: $(cat "$tmp/load.$tool")"
done
