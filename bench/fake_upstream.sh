# Sourced by the shell benches: waits for a server's "listening on" line, and starts one fake
# provider with an llmux config that serves it as model fake-model. Needs $build and $tmp.

wait_listening() {  # log file -> the port it listens on
  for _ in $(seq 1 1000); do
    grep -q '^listening on ' "$1" 2>/dev/null && { grep -m1 '^listening on ' "$1" | sed 's|.*:||'; return; }
    sleep 0.02
  done
  echo "did not start: $(cat "$1")" >&2; exit 1
}

start_fake_upstream() {  # sets fake_pid and fake_port, writes $tmp/config.yaml
  "$build/llmux-fake-provider" --port 0 --threads 1 >"$tmp/fake.out" 2>&1 & fake_pid=$!
  fake_port=$(wait_listening "$tmp/fake.out")
  printf 'providers:\n  fake:\n    base_url: http://127.0.0.1:%s/v1\n    api_key: sk-bench\n    models: [fake-model]\n' \
    "$fake_port" >"$tmp/config.yaml"
}
