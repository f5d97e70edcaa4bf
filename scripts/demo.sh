#!/usr/bin/env bash
# Shows a real round trip without any API key: starts the bundled fake provider and llmux on free
# loopback ports, sends one chat completion and one streamed one through llmux, prints them, stops.
set -euo pipefail
build=${1:-build}
tmp=$(mktemp -d)
cleanup() { kill "${fake_pid:-}" "${gw_pid:-}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

first_line() {  # waits (bounded) for the process's "listening on" line
  local file=$1
  for _ in $(seq 1 100); do
    if grep -q '^listening on ' "$file" 2>/dev/null; then grep -m1 '^listening on ' "$file" | sed 's/^listening on //'; return; fi
    read -rt 0.05 <> <(:) || true
  done
  echo "did not start: $(cat "$file")" >&2; exit 1
}

"$build/llmux-fake-provider" --port 0 >"$tmp/fake.out" 2>&1 & fake_pid=$!
fake_url=$(first_line "$tmp/fake.out")
cat >"$tmp/config.yaml" <<YAML
providers:
  fake:
    base_url: $fake_url/v1
    models: [fake-model]
    default_model: fake-model
YAML
XDG_CONFIG_HOME="$tmp/config" XDG_STATE_HOME="$tmp/state" "$build/llmux" serve --config "$tmp/config.yaml" --port 0 >"$tmp/gw.out" 2>&1 & gw_pid=$!
gw_url=$(first_line "$tmp/gw.out")
echo "llmux is listening on $gw_url, in front of the fake provider at $fake_url"
echo

# Prints a command the way it can be pasted into a shell, then runs exactly that command: what is
# shown is what was run.
shell_word() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}
show_and_run() {
  local line="\$" word
  for word in "$@"; do line+=" $(shell_word "$word")"; done
  echo "$line"
  "$@"
  echo; echo
}

chat='{"model":"fake/fake-model","messages":[{"role":"user","content":"Hello llmux"}]}'
stream='{"model":"fake/fake-model","stream":true,"messages":[{"role":"user","content":"Hello llmux"}]}'
show_and_run curl -sS "$gw_url/v1/chat/completions" -H 'Content-Type: application/json' -d "$chat"
echo "(the same, streamed)"
show_and_run curl -sSN "$gw_url/v1/chat/completions" -H 'Content-Type: application/json' -d "$stream"
echo "(the same through the library, examples/chat.cpp)"
show_and_run "$build/llmux-example-chat" "$gw_url/v1" fake/fake-model "Hello llmux"
echo "the gateway and the fake provider stop now; \`make run\` starts a gateway that keeps running"
