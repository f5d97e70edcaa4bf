#!/usr/bin/env bash
# RSS per open stream of llmux, quickly (no nginx, no Portkey): N slow streams at one event a
# second through a fake provider, RSS read once all are open. `WRAP="valgrind --tool=massif"` runs
# llmux under a tool; `TRIM=1` also reads RSS after malloc_trim (needs gdb). Run it from an empty
# directory: it writes its logs there. Every stream takes two of llmux's descriptors (client and
# upstream): NOFILE sets the limit (at most the hard limit; with 20,000, N stays below 9,968).
# usage: B=build-bench N=1000 HOLD=5 bench/mem_streams.sh
#        N=3000 OPEN_WAIT=100 bench/mem_streams.sh
# (OPEN_WAIT: seconds allowed for every stream to open; streams last CHUNKS seconds, default 120.
# With CHUNKS=600 a 3,000-stream run never saw every stream's first event within 200 s; not yet
# understood, so keep CHUNKS at 120.)
set -e
ulimit -n ${NOFILE:-20000}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
B=${B:-$HERE/../build-bench}
N=${N:-300}
rm -f streams.out fake.out llmux.out
$B/llmux-fake-provider --port 0 --threads 1 > fake.out 2>&1 &
FAKE=$!
for i in $(seq 50); do grep -q "listening" fake.out && break; sleep 0.1; done
FPORT=$(grep -o 'listening on http://[0-9.]*:[0-9]*' fake.out | grep -o '[0-9]*$' | head -1)
cat > llmux.yaml <<Y
providers:
  fake:
    base_url: http://127.0.0.1:$FPORT/v1
    api_key: sk-bench
    timeout: 300s
    max_retries: 0
    models: [fake-model]
api_keys: [sk-bench]
Y
python3 -c 'import json; print(json.dumps({"model":"fake-model","messages":[{"role":"user","content":"hello "*60}],"stream":True,"fake":{"chunks":'"${CHUNKS:-120}"',"chunk_interval_ms":1000,"content_size":6*'"${CHUNKS:-120}"'}}))' > body.json
${WRAP:-} $B/llmux serve --config llmux.yaml --port 0 --threads 1 > llmux.out 2>&1 &
GW=$!
for i in $(seq 300); do grep -q "listening" llmux.out && break; sleep 0.2; done
GPORT=$(grep -o 'http://[0-9.]*:[0-9]*' llmux.out | grep -o '[0-9]*$' | head -1)
sleep 1
IDLE=$(grep VmRSS /proc/$GW/status | awk '{print $2}')
python3 "$HERE/streams.py" --port $GPORT --count $N --body-file body.json --header "Authorization: Bearer sk-bench" > streams.out < <(sleep 3600) &
SP=$!
for i in $(seq $(( ${OPEN_WAIT:-120} * 5 ))); do grep -q "^open" streams.out 2>/dev/null && break; sleep 0.2; done
sleep ${HOLD:-5}
OPEN=$(grep VmRSS /proc/$GW/status | awk '{print $2}')
OPENED=$(awk '/^open/{print $2}' streams.out)
if [ -n "$TRIM" ]; then gdb -p $GW -batch -ex 'call (int)malloc_trim(0)' >/dev/null 2>&1 || true; TRIMMED=$(grep VmRSS /proc/$GW/status | awk '{print $2}'); echo "after malloc_trim: ${TRIMMED} kB, per stream $(( (TRIMMED-IDLE)*1000/OPENED )) B"; fi
echo "streams $OPENED of $N: idle ${IDLE} kB, open ${OPEN} kB, per stream $(( (OPEN-IDLE)*1000/OPENED )) B"
kill $SP 2>/dev/null || true
kill $GW; wait $GW 2>/dev/null || true
kill $FAKE
