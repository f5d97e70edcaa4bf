#!/usr/bin/env bash
# The hot-path cost of governance (issue 13): the plain chat request through llmux with rate
# limits, budgets, the usage ledger, a virtual key and the access log all on, against the same
# llmux with all of them off, in one run on one machine.
#   [ACCESS_LOG=off] bench/governance.sh [BUILD_DIR] [RATE] [SECONDS] [ROUNDS]
# Each round runs both configs for SECONDS at RATE requests/s (llmux-loadgen, open loop, 8
# connections), llmux on one worker thread; the rounds interleave (off, on, off, on, …) so a
# machine's drift hits both. CPU per request is the gateway's utime+stime from /proc over the
# requests answered; p50/p99 are loadgen's. Medians over the rounds are printed, then the ratio.
# Then the instructions and allocations per request of both (bench/instructions.sh, callgrind).
set -euo pipefail
build=${1:-build}
rate=${2:-2000}
seconds=${3:-10}
rounds=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
cleanup() { kill "${fake_pid:-}" "${gw_pid:-}" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
. "$here/fake_upstream.sh"
start_fake_upstream

# Off: the bench's one-provider config with the ledger off and no gateway key.
sed "s/@FAKE_PORT@/$fake_port/g" "$here/governance-off.yaml" >"$tmp/off.yaml"
sed "s/@FAKE_PORT@/$fake_port/g" "$here/governance-on.yaml" >"$tmp/on.yaml"
# ACCESS_LOG=off measures the rest without the access log (its per-line write is its own cost).
[ "${ACCESS_LOG:-on}" = off ] && sed -i '/^logging:/d' "$tmp/on.yaml"
# On: a virtual key with limits and budgets, made by the CLI in the gateway's state dir.
export XDG_STATE_HOME="$tmp/state"
key=$("$build/llmux" keys create --name bench --rpm 10000000 --tpm 2000000000 --budget-daily 1000000 \
      --budget-monthly 10000000 --config "$tmp/on.yaml" | grep -o 'llmux-sk-[A-Za-z0-9_-]*' | head -1)
[ -n "$key" ] || { echo "governance.sh: llmux keys create printed no key" >&2; exit 1; }
sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$here/wrk/chat.lua" >"$tmp/body.json"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {  # config state_dir header -> "cpu_us_per_request p50_us p99_us"
  local config=$1 state=$2 header=$3
  XDG_STATE_HOME=$state "$build/llmux" serve --config "$config" --port 0 --threads 1 >"$tmp/gw.log" 2>"$tmp/gw.err" & gw_pid=$!
  local port
  port=$(wait_listening "$tmp/gw.log")
  local args=(--url "http://127.0.0.1:$port/v1/chat/completions" --body "$tmp/body.json" --connections 8)
  [ -n "$header" ] && args+=(--header "$header")
  "$build/llmux-loadgen" "${args[@]}" --rate "$rate" --duration 2 --warmup 0 >/dev/null 2>&1  # warm
  local before after
  before=$(cpu_ticks "$gw_pid")
  "$build/llmux-loadgen" "${args[@]}" --rate "$rate" --duration "$seconds" --warmup 0 >"$tmp/load.json" 2>&1
  after=$(cpu_ticks "$gw_pid")
  kill -TERM "$gw_pid"; wait "$gw_pid" || true
  local hz requests
  hz=$(getconf CLK_TCK)
  requests=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$tmp/load.json")
  python3 - "$before" "$after" "$hz" "$requests" "$tmp/load.json" <<'PY'
import json, sys
before, after, hz, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
load = json.load(open(sys.argv[5]))
errors = load["errors"] + load["non_2xx"]
if errors: sys.exit(f"governance.sh: {errors} requests failed: {load}")
print(f"{(after - before) / hz * 1e6 / max(n, 1):.1f} {load['p50_us']:.0f} {load['p99_us']:.0f}")
PY
}

declare -a off_runs on_runs
for r in $(seq 1 "$rounds"); do
  # Off has a state dir of its own: a stored virtual key closes the gateway to keyless requests.
  off_runs+=("$(run "$tmp/off.yaml" "$tmp/state-off" "")")
  on_runs+=("$(run "$tmp/on.yaml" "$XDG_STATE_HOME" "Authorization: Bearer $key")")
  echo "round $r: off ${off_runs[-1]}  on ${on_runs[-1]}  (cpu_us/request p50_us p99_us)"
done
python3 - "${off_runs[@]}" -- "${on_runs[@]}" <<'PY'
import statistics, sys
args = sys.argv[1:]
cut = args.index("--")
def med(runs, i): return statistics.median(float(r.split()[i]) for r in runs)
off, on = args[:cut], args[cut + 1:]
print(f"{'':8} {'cpu µs/req':>11} {'p50 µs':>8} {'p99 µs':>8}")
for name, runs in (("off", off), ("on", on)):
    print(f"{name:8} {med(runs, 0):11.1f} {med(runs, 1):8.0f} {med(runs, 2):8.0f}")
print(f"{'on/off':8} {med(on, 0) / med(off, 0):11.2f} {med(on, 1) / med(off, 1):8.2f} {med(on, 2) / med(off, 2):8.2f}")
PY

# Instructions and allocations per request (callgrind, memcheck), the same two ways.
STATE_DIR="$tmp/state-off" bash "$here/instructions.sh" "$build" 1000 "$here/governance-off.yaml" fake-model | sed 's/^/off: /'
STATE_DIR="$XDG_STATE_HOME" HEADER="Authorization: Bearer $key" \
  bash "$here/instructions.sh" "$build" 1000 "$here/governance-on.yaml" fake-model | sed 's/^/on:  /'
