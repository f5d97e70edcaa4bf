-- POSTs one fixed JSON body on every request. Used by bench/bench.py:
--   BENCH_BODY_FILE  file holding the request body
--   BENCH_HEADERS    extra request headers, one "Name: value" per line (optional)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local f = assert(io.open(assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE is not set"), "rb"))
wrk.body = f:read("*a")
f:close()

for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end
