#!/usr/bin/env bash
# Runs the fuzz targets (all, or those named as arguments) for FUZZ_SECONDS each, FUZZ_JOBS at a
# time, then prints the executions per target. Exits 1 when a target crashed, leaked, hung or broke
# a property; its input is in $FUZZ_BUILD/fuzz-crashes/ and its log in $FUZZ_BUILD/fuzz-logs/.
# `make fuzz` builds the targets first; see fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${FUZZ_BUILD:-build-asan}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
max_len=${FUZZ_MAX_LEN:-8192}
fixtures=${FUZZ_FIXTURES:-../shared/fixtures/providers}

all_targets=(http_request http_response sse_stream chunk_shape request_json messages_request chat_translation anthropic_response gemini_response ollama_response cohere_response bedrock_eventstream provider_error config_text env_refs)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

declare -A dictionary=(
  [http_request]=http [http_response]=http [sse_stream]=sse [chunk_shape]=json [request_json]=json [messages_request]=anthropic [chat_translation]=json
  [anthropic_response]=anthropic [gemini_response]=gemini [ollama_response]=ollama [cohere_response]=cohere [bedrock_eventstream]=bedrock [provider_error]=json [config_text]=config [env_refs]=env_refs
)

seeds=$build/fuzz-seeds
corpus=$build/fuzz-corpus
logs=$build/fuzz-logs
crashes=$build/fuzz-crashes
rm -rf "$seeds" "$logs"
mkdir -p "$seeds" "$corpus" "$logs" "$crashes"

# Seeds from the recorded provider fixtures, in the shape each target reads: streams and bodies
# as they are, request bodies inside HTTP requests, and both inside upstream responses.
copy_fixtures() {  # target, globs...
  local target=$1 file
  shift
  mkdir -p "$seeds/$target"
  for file in "$@"; do
    [ -f "$file" ] && cp "$file" "$seeds/$target/$(echo "${file#"$fixtures"/}" | tr / _)"
  done
  return 0
}
if [ -d "$fixtures" ]; then
  copy_fixtures sse_stream "$fixtures"/*/*.sse.txt
  copy_fixtures anthropic_response "$fixtures"/anthropic/*.sse.txt "$fixtures"/anthropic/messages-*.json \
    "$fixtures"/anthropic/error-*.json
  copy_fixtures gemini_response "$fixtures"/gemini/*.sse.txt "$fixtures"/gemini/generate-content*.json \
    "$fixtures"/gemini/error-*.json
  copy_fixtures ollama_response "$fixtures"/ollama/api-chat-*.ndjson "$fixtures"/ollama/api-chat-*.json \
    "$fixtures"/ollama/error.docs.json
  copy_fixtures cohere_response "$fixtures"/cohere/chat-v2-*.json "$fixtures"/cohere/embed.json
  for file in "$fixtures"/cohere/*.chunks.jsonl; do  # each line as the SSE event it was
    [ -f "$file" ] && sed 's/^/data: /; s/$/\n/' "$file" >"$seeds/cohere_response/$(basename "$file" .jsonl).sse"
  done
  copy_fixtures bedrock_eventstream "$fixtures"/bedrock/*.eventstream.bin "$fixtures"/bedrock/converse*.json
  for file in "$fixtures"/bedrock/*.eventstream.base64.txt; do
    [ -f "$file" ] && base64 -d "$file" >"$seeds/bedrock_eventstream/$(basename "$file" .base64.txt).bin"
  done
  copy_fixtures provider_error "$fixtures"/*/error-*.json "$fixtures"/azure/*.json
  copy_fixtures request_json "$fixtures"/*/*.request.json "$fixtures"/openai/*.json
  copy_fixtures messages_request "$fixtures"/anthropic/*.request.json
  copy_fixtures chat_translation "$fixtures"/openai/*.json "$fixtures"/*/*.request.json
  mkdir -p "$seeds/http_request" "$seeds/http_response"
  for file in "$fixtures"/*/*.request.json; do
    name=$(echo "${file#"$fixtures"/}" | tr / _)
    length=$(wc -c <"$file")
    { printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: llmux\r\nContent-Type: application/json\r\n'
      printf 'Content-Length: %d\r\n\r\n' "$length"; cat "$file"; } >"$seeds/http_request/$name"
    { printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: llmux\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n' "$length"
      cat "$file"; printf '\r\n0\r\n\r\n'; } >"$seeds/http_request/chunked-$name"
  done
  for file in "$fixtures"/*/*.sse.txt "$fixtures"/*/*-nonstream*.json; do
    [ -f "$file" ] || continue
    name=$(echo "${file#"$fixtures"/}" | tr / _)
    { printf 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n' \
        "$(wc -c <"$file")"; cat "$file"; printf '\r\n0\r\n\r\n'; } >"$seeds/http_response/$name"
  done
else
  echo "fuzz: no fixtures at $fixtures; hand-written seeds only" >&2
fi

run_target() {
  local target=$1
  local binary=$build/fuzz/fuzz_$target
  mkdir -p "$corpus/$target"
  local inputs=("$corpus/$target" "fuzz/corpus/$target")
  [ -d "$seeds/$target" ] && inputs+=("$seeds/$target")
  local status=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$binary" "${inputs[@]}" -dict="fuzz/dict/${dictionary[$target]}.dict" -max_total_time="$seconds" \
      -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" -print_final_stats=1 \
      -artifact_prefix="$crashes/$target-" >"$logs/$target.log" 2>&1 || status=$?
  echo "$status" >"$logs/$target.status"
}

for target in "${targets[@]}"; do
  if [ ! -x "$build/fuzz/fuzz_$target" ]; then
    echo "fuzz: $build/fuzz/fuzz_$target is not built (make fuzz builds it)" >&2
    exit 2
  fi
done

echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $jobs at a time"
running=0
for target in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
  run_target "$target" &
  running=$((running + 1))
done
wait

failed=0
printf '%-20s %12s %10s %8s %8s  %s\n' target execs execs/s corpus rss_mb result
for target in "${targets[@]}"; do
  log=$logs/$target.log
  stat() { awk -v key="stat::$1:" '$1 == key { print $2 }' "$log" | tail -1; }
  status=$(cat "$logs/$target.status")
  result=ok
  if [ "$status" != 0 ]; then
    result="FAILED (exit $status; log $log)"
    failed=1
  fi
  printf '%-20s %12s %10s %8s %8s  %s\n' "$target" "$(stat number_of_executed_units)" \
    "$(stat average_exec_per_sec)" "$(find "$corpus/$target" -type f | wc -l)" "$(stat peak_rss_mb)" "$result"
done
if ((failed)); then
  for target in "${targets[@]}"; do
    [ "$(cat "$logs/$target.status")" = 0 ] && continue
    echo
    echo "=== $target: $(grep -m1 -o "Test unit written to .*" "$logs/$target.log" || echo "no input saved")"
    grep -m1 -B2 -A40 -E "ERROR: |runtime error|property violated|deadly signal|ALARM|out-of-memory" \
      "$logs/$target.log" | head -60
  done
  exit 1
fi
