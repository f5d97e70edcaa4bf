#!/usr/bin/env python3
"""llmux benchmark driver: llmux side by side with direct, nginx proxy_pass and the Portkey gateway.

Run it through bench/run.sh, which installs what is missing and builds llmux in Release first.
Everything listens on and talks to 127.0.0.1 only (Portkey binds every interface, it has no host
option, but every request it gets comes from here over loopback).

Targets, measured in interleaved rounds (direct, nginx, portkey, llmux, direct, nginx, ...):
  direct   the upstream itself
  nginx    Debian nginx, one worker, proxy_pass with upstream keepalive
  portkey  @portkey-ai/gateway (node), the upstream as a custom OpenAI host (anthropic-stream:
           as provider anthropic at a custom host)
  llmux    llmux serve, the upstream as an OpenAI-compatible provider (anthropic-stream: as a
           provider of type anthropic)
Upstreams: "static" (a second nginx returning fixed bodies: the floor) and "fake"
(llmux-fake-provider). Cases: plain chat completion, stream of 20 chunks, and the same stream
from an Anthropic Messages upstream translated to OpenAI chunks (direct and nginx get the
Anthropic request and stream itself: nginx cannot translate, it is a pass-through); then the
plain request at a fixed rate (open loop), open slow streams through llmux (RSS and CPU), and with
--long a 1-million-request RSS leak check.
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import re
import resource
import shutil
import ssl
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LUA = os.path.join(HERE, "wrk", "post.lua")
PORTKEY_DIR = os.path.join(HERE, "portkey")
PORTKEY_JS = os.path.join(PORTKEY_DIR, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js")
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOOPBACK = "127.0.0.1"

TARGETS = ["direct", "nginx", "portkey", "llmux-baseline", "llmux"]  # llmux-baseline: only with --baseline
CASES = ["plain", "routed", "stream", "anthropic-stream"]  # measured with wrk (routed: llmux only)
OTHER_CASES = ["fixed-rate", "open-streams"]     # --cases can select these too
CASE_TITLES = {"plain": "chat completion", "routed": "chat completion, 2-deployment chain + breakers",
               "stream": "stream, 20 chunks",
               "anthropic-stream": "Anthropic stream → OpenAI, 20 chunks"}
UPSTREAMS = ["static", "fake", "tls"]
# `tls`: the static nginx upstream over TLS (certificate made by the bench, its CA trusted by the
# targets); only the plain and stream cases, with direct (wrk over https), nginx and llmux.
TLS_CASES = ("plain", "stream")
TLS_TARGETS = ("direct", "nginx", "llmux")
STREAM_CHUNKS = 20
ANTHROPIC_VERSION = "2023-06-01"
ANTHROPIC_KEY = "sk-ant-bench"
# In the anthropic-stream case these targets get the Anthropic request and answer with the
# Anthropic stream itself: direct is the floor, nginx a pass-through (it cannot translate), so
# neither does the work Portkey and llmux do (OpenAI request in, Anthropic upstream, OpenAI out).
PASS_THROUGH = ("direct", "nginx")
PASS_THROUGH_NOTE = ("Anthropic request and stream passed through, not translated: "
                     "not the same work as Portkey's and llmux's")


# The routed case: the plain request to a model whose chain has two deployments (the primary
# healthy, so the second is never asked) with circuit breakers on. Only llmux routes; the other
# targets have no such thing, and the comparison is llmux's plain case in the same run.
ROUTED_TARGETS = ("llmux-baseline", "llmux")
ROUTED_BREAKER = "{consecutive_failures: 5, error_rate: 0.5, min_requests: 20, window: 30s, cooldown: 30s}"


def measured_together(cases: list[str]) -> list[list[str]]:
    """The wrk cases in groups whose rounds interleave: routed goes with plain, so the two CPU
    figures it is judged by come from the same minutes."""
    groups = []
    for case in cases:
        if case == "routed" and "plain" in cases:
            continue
        groups.append([case, "routed"] if case == "plain" and "routed" in cases else [case])
    return groups


def speaks_anthropic(target: str, case: str) -> bool:
    """Does this target get the Anthropic Messages request (and answer the Anthropic stream)?"""
    return case == "anthropic-stream" and target in PASS_THROUGH


def reply_kind(target: str, case: str) -> str:
    """What a correct answer looks like: "plain", "stream" (OpenAI chunks) or "anthropic"."""
    if case == "anthropic-stream":
        return "anthropic" if speaks_anthropic(target, case) else "stream"
    return "plain" if case == "routed" else case


def target_label(target: str, case: str) -> str:
    """The target's name in the table: says which ones do not translate."""
    if not speaks_anthropic(target, case):
        return target
    return "direct (Anthropic)" if target == "direct" else f"{target} (pass-through)"

# The assistant's reply: sized so that the plain chat.completion response is about 1 KB.
REPLY = ("An LLM gateway sits between applications and model providers and gives them one stable "
         "OpenAI-compatible API. It routes each request to the right provider and model, adds the "
         "provider credentials so that applications never hold them, retries transient failures, "
         "enforces timeouts and budgets, and records token usage per team. Streams are forwarded "
         "event by event. For example a team can move a feature from a hosted model to a local "
         "vLLM server by changing one line of gateway configuration, without touching the code. "
         "Teams also use it to compare providers on the same traffic and to fall back to another "
         "provider when one is down. The gateway must add almost nothing to latency and CPU time.")
SYSTEM_PROMPT = "You are a helpful assistant that answers briefly and precisely."
USER_PROMPT = ("Explain in one paragraph what an LLM gateway does and why teams put one in front of "
               "their model providers, with an example.")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# processes


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind((LOOPBACK, 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def proc_stat_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15), all threads


def proc_status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def machine_busy_ticks() -> int:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]  # all but idle and iowait (guest time is already in user)


def children_ticks() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk runs, once each has been waited for
    return (ru.ru_utime + ru.ru_stime) * CLK_TCK


def child_pids(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return out


class Service:
    """A process this driver started, in its own process group, output to a log file."""

    def __init__(self, name: str, argv: list[str], logdir: str, env: dict | None = None,
                 with_children: bool = False):
        self.name = name
        self.log_path = os.path.join(logdir, f"{name}.log")
        self.with_children = with_children
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.port = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pids(self) -> list[int]:
        return [self.pid] + (child_pids(self.pid) if self.with_children else [])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise BenchError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")

    def tail(self, n: int = 800) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def cpu_ticks(self) -> int:
        return sum(self._each(proc_stat_ticks))

    def kb(self, key: str) -> int:
        return sum(self._each(lambda p: proc_status_kb(p, key)))

    def _each(self, f) -> list[int]:
        out = []
        for p in self.pids():
            try:
                out.append(f(p))
            except (OSError, ValueError, IndexError):
                if p == self.pid:  # the process itself is gone: say so rather than count zero
                    self.check_alive()
                    raise
        return out

    def wait_listening_line(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with open(self.log_path, "rb") as f:
                m = re.search(rb"listening on https?://[^\s:]+:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return self.port
            time.sleep(0.02)
        raise BenchError(f"{self.name} did not print its listening line: {self.tail()}")

    def wait_port(self, port: int, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                socket.create_connection((LOOPBACK, port), timeout=0.5).close()
                self.port = port
                return port
            except OSError:
                time.sleep(0.05)
        raise BenchError(f"{self.name} is not accepting on {LOOPBACK}:{port}: {self.tail()}")

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        self.log_file.close()


# ---------------------------------------------------------------------------------------------
# wrk

UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def to_us(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * UNITS_US[m.group(2)]


def run_wrk(url: str, body_file: str, headers: list[str], seconds: int, connections: int) -> dict:
    assert url.startswith((f"http://{LOOPBACK}:", f"https://{LOOPBACK}:")), url
    env = dict(os.environ, BENCH_BODY_FILE=body_file, BENCH_HEADERS="\n".join(headers))
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency",
            "-s", LUA, url]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60)
    text = out.stdout
    if out.returncode != 0 or "requests in" not in text:
        raise BenchError(f"wrk failed ({out.returncode}): {text}{out.stderr}")
    r = {"requests": int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", text).group(1))}
    r["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    for pct in ("50", "90", "99"):
        r[f"p{pct}_us"] = to_us(re.search(rf"^\s+{pct}%\s+(\S+)", text, re.M).group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    r["socket_errors_detail"] = m.group(0) if m else ""
    return r


# ---------------------------------------------------------------------------------------------
# HTTP checks


def post(port: int, path: str, body: bytes, headers: dict, timeout: float = 10,
         ca_file: str | None = None) -> tuple[int, dict, bytes]:
    if ca_file:  # the TLS upstream itself: its certificate is for "localhost"
        context = ssl.create_default_context(cafile=ca_file)
        context.check_hostname = False
        conn = http.client.HTTPSConnection(LOOPBACK, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def routed_by_the_chain(up: str, headers: dict) -> tuple[bool, str]:
    """Did the routed case go through its chain, answered by the first deployment at once?"""
    attempts = {k.lower(): v for k, v in headers.items()}.get("x-llmux-attempts", "")
    first = "fake/fake-model" if up == "fake" else "static-plain/static-plain"
    if attempts != f"1; {first}=200":
        return False, f"x-llmux-attempts {attempts!r}, expected '1; {first}=200'"
    return True, ""


def check_reply(kind: str, status: int, body: bytes) -> tuple[bool, str, dict]:
    """Is this a correct answer of this kind (reply_kind())? Returns (ok, why, facts)."""
    if status != 200:
        return False, f"HTTP {status}: {body[:300]!r}", {}
    if kind == "anthropic":
        return check_anthropic_stream(body)
    if kind == "plain":
        try:
            doc = json.loads(body)
            content = doc["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            return False, f"not a chat.completion ({e}): {body[:300]!r}", {}
        if doc.get("object") != "chat.completion" or not content:
            return False, f"not a chat.completion: {body[:300]!r}", {}
        return True, "", {"response_bytes": len(body)}
    events = [line[5:].strip() for line in body.decode(errors="replace").splitlines()
              if line.startswith("data:")]
    content_events = 0
    for e in events:
        if e == "[DONE]":
            continue
        try:
            delta = json.loads(e)["choices"][0]["delta"]
        except (ValueError, KeyError, IndexError, TypeError):
            return False, f"bad SSE event: {e[:200]!r}", {}
        if delta.get("content"):
            content_events += 1
    facts = {"response_bytes": len(body), "events": len(events), "content_events": content_events}
    if not events or events[-1] != "[DONE]":
        return False, f"stream does not end with [DONE]: {body[-300:]!r}", facts
    if content_events != STREAM_CHUNKS:
        return False, f"{content_events} content events, expected {STREAM_CHUNKS}", facts
    return True, "", facts


def check_anthropic_stream(body: bytes) -> tuple[bool, str, dict]:
    """An Anthropic Messages stream: event:/data: pairs from message_start to message_stop, with
    exactly STREAM_CHUNKS content_block_delta events carrying text."""
    events = []  # (event name, data)
    for block in re.split(r"\r?\n\r?\n", body.decode(errors="replace")):
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if name or data:
            events.append((name, "\n".join(data)))
    text_deltas = 0
    for name, data in events:
        try:
            doc = json.loads(data)
        except ValueError:
            return False, f"bad SSE data in {name!r} event: {data[:200]!r}", {}
        if not isinstance(doc, dict) or doc.get("type") != name:
            return False, f"event {name!r} with data of type {doc.get('type') if isinstance(doc, dict) else doc!r}", {}
        if name == "error":
            return False, f"error event: {data[:300]}", {}
        delta = doc.get("delta") if name == "content_block_delta" else None
        if isinstance(delta, dict) and delta.get("type") == "text_delta" and delta.get("text"):
            text_deltas += 1
    facts = {"response_bytes": len(body), "events": len(events), "content_events": text_deltas}
    if not events or events[0][0] != "message_start":
        return False, f"stream does not begin with message_start: {body[:300]!r}", facts
    if events[-1][0] != "message_stop":
        return False, f"stream does not end with message_stop: {body[-300:]!r}", facts
    if text_deltas != STREAM_CHUNKS:
        return False, f"{text_deltas} content_block_delta text events, expected {STREAM_CHUNKS}", facts
    return True, "", facts


# ---------------------------------------------------------------------------------------------
# configs


def nginx_escape(text: str) -> str:
    if "$" in text:
        raise BenchError("a static body contains '$', which nginx would read as a variable")
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("\r", "\\r").replace("\n", "\\n")


def nginx_common(prefix: str) -> str:
    os.makedirs(prefix, exist_ok=True)
    return f"""worker_processes 1;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/client_body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
"""


def nginx_return(name: str, body: bytes) -> str:
    """`return 200 BODY` for any body: nginx reads at most 4 KB per config token, so a longer body
    is split over variables (`set`) that the return text concatenates."""
    text = body.decode()
    pieces = [text[i:i + 2000] for i in range(0, len(text), 2000)]
    if len(pieces) == 1:
        return f"return 200 '{nginx_escape(text)}';"
    sets = "".join(f"      set ${name}{i} '{nginx_escape(p)}';\n" for i, p in enumerate(pieces))
    return sets + "      return 200 '" + "".join(f"${{{name}{i}}}" for i in range(len(pieces))) + "';"


def make_tls_files(directory: str) -> dict[str, str]:
    """A CA and a certificate for "localhost" signed by it (openssl CLI), for the TLS upstream."""
    files = {name: os.path.join(directory, name) for name in ("ca.pem", "ca.key", "server.pem", "server.key")}
    run = lambda *argv: subprocess.run(argv, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", files["ca.key"], "-out",
        files["ca.pem"], "-days", "2", "-subj", "/CN=llmux-bench-ca")
    csr = os.path.join(directory, "server.csr")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", files["server.key"], "-out", csr,
        "-subj", "/CN=localhost")
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", files["ca.pem"], "-CAkey", files["ca.key"],
        "-CAcreateserial", "-out", files["server.pem"], "-days", "2", "-extfile", ext)
    return files


def static_nginx_conf(prefix: str, port: int, replies: dict[str, bytes], tls_port: int = 0,
                      tls: dict[str, str] | None = None) -> str:
    """The static upstream: fixed bodies for POST, so it costs next to nothing (the floor).
    replies: case -> the fake provider's reply for it. With `tls`, the same also on tls_port over
    TLS (TLS 1.3, session tickets on, as hosted providers do)."""
    listen = f"    listen {LOOPBACK}:{port};\n"
    if tls:
        listen += (f"    listen {LOOPBACK}:{tls_port} ssl;\n    ssl_certificate {tls['server.pem']};\n"
                   f"    ssl_certificate_key {tls['server.key']};\n    ssl_protocols TLSv1.2 TLSv1.3;\n"
                   "    ssl_session_cache shared:up:1m;\n    ssl_session_tickets on;\n")
    # GET .../models answers an empty list: llmux's health probes ask for it (a failing probe would
    # mark the provider down and open its breaker mid-run).
    text = nginx_common(prefix) + f"""  server {{
{listen}    location ~ /v1/models$ {{
      default_type application/json;
      return 200 '{{"object":"list","data":[]}}';
    }}
    location = /plain/v1/chat/completions {{
      default_type application/json;
      {nginx_return("plain", replies["plain"])}
    }}
    location = /stream/v1/chat/completions {{
      default_type text/event-stream;
      add_header Cache-Control no-cache;
      {nginx_return("stream", replies["stream"])}
    }}
"""
    if "anthropic-stream" in replies:  # the Anthropic Messages stream, as the fake sends it
        text += f"""    location = /anthropic-stream/v1/messages {{
      default_type text/event-stream;
      add_header Cache-Control no-cache;
      {nginx_return("anthropic", replies["anthropic-stream"])}
    }}
"""
    return text + "  }\n}\n"


def proxy_nginx_conf(prefix: str, routes: dict[str, tuple[int, int]], tls_ca: str | None = None,
                     client_tls: dict | None = None) -> str:
    """routes: upstream name -> (listen port, upstream port). An upstream named up_tls is reached
    over TLS: certificate verified against tls_ca for "localhost" (also sent as SNI), sessions
    reused, connections kept alive like the others. client_tls {port, cert, key}: up_tls is also
    served to clients over TLS on that port."""
    text = nginx_common(prefix)
    client_listen = (f"    listen {LOOPBACK}:{client_tls['port']} ssl;\n    ssl_certificate {client_tls['cert']};\n"
                     f"    ssl_certificate_key {client_tls['key']};\n    ssl_protocols TLSv1.2 TLSv1.3;\n"
                     if client_tls else "")
    for name, (listen, upstream) in routes.items():
        tls = name == "up_tls"
        ssl_lines = (f"""      proxy_ssl_trusted_certificate {tls_ca};
      proxy_ssl_verify on;
      proxy_ssl_verify_depth 2;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
""" if tls else "")
        text += f"""  upstream {name} {{
    server {LOOPBACK}:{upstream};
    keepalive {128 if tls else 64};
    keepalive_requests 100000000;
    keepalive_timeout 600s;
  }}
  server {{
    listen {LOOPBACK}:{listen};
{client_listen if tls else ""}    location / {{
      proxy_pass {"https" if tls else "http"}://{name};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
{ssl_lines}    }}
  }}
"""
    return text + "}\n"


def llmux_conf(upstream_bases: dict[str, str], models: dict[str, str], types: dict[str, str] | None = None,
               chains: dict[str, list[str]] | None = None, extra: dict[str, str] | None = None) -> str:
    """types: provider -> llmux provider type, for those that are not OpenAI-compatible.
    chains: routed model name -> its deployments' providers in priority order (breakers on)."""
    text = ""
    if chains:
        text += f"router:\n  breaker: {ROUTED_BREAKER}\nmodels:\n"
        for name, deployments in chains.items():
            text += f"  {name}:\n    deployments:\n"
            for i, key in enumerate(deployments):
                text += f"      - {{provider: {key}, model: {models[key]}, priority: {i + 1}}}\n"
    text += "providers:\n"
    for key, base in upstream_bases.items():
        kind = (types or {}).get(key)
        text += (f"  {key}:\n" + (f"    type: {kind}\n" if kind else "") +
                 f"    base_url: {base}\n    api_key: {ANTHROPIC_KEY if kind == 'anthropic' else 'sk-bench'}\n"
                 f"    timeout: 120s\n    max_retries: 0\n    models: [{models[key]}]\n" + (extra or {}).get(key, ""))
    return text


def request_body(model: str, case: str, extra: dict | None = None, size: int = 400) -> bytes:
    doc = {"model": model, "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                                        {"role": "user", "content": USER_PROMPT}],
           "temperature": 0.7, "max_tokens": 512, "user": "bench"}
    if case in ("stream", "anthropic-stream"):
        doc["stream"] = True
    if extra:  # per-request knobs of the fake provider (llmux passes them through; Portkey drops them)
        doc["fake"] = extra
    raw = json.dumps(doc, separators=(",", ":"))
    pad = size - len(raw)
    if pad > 0:  # bring the request to about `size` bytes with a realistic longer user turn
        doc["messages"][1]["content"] += (" Keep it short and concrete, please." * 20)[:pad]
        raw = json.dumps(doc, separators=(",", ":"))
    return raw.encode()


def anthropic_request_body(openai_body: bytes) -> bytes:
    """The Messages request that says what this OpenAI chat request says (what an Anthropic
    adapter sends for it): system prompt on top, the same turns, max_tokens, temperature,
    metadata.user_id, stream."""
    src = json.loads(openai_body)
    doc = {"model": src["model"], "max_tokens": src["max_tokens"],
           "system": [{"type": "text", "text": m["content"]} for m in src["messages"] if m["role"] == "system"],
           "messages": [{"role": m["role"], "content": m["content"]} for m in src["messages"] if m["role"] != "system"],
           "temperature": src["temperature"], "metadata": {"user_id": src["user"]}}
    if src.get("stream"):
        doc["stream"] = True
    return json.dumps(doc, separators=(",", ":")).encode()


def case_model(up: str, case: str) -> str:
    """The model the requests name. On the fake, the Anthropic case uses the fake's second model
    so that llmux routes it to its anthropic provider and not to the OpenAI one."""
    if case == "routed":
        return f"routed-{up}"
    if up == "fake":
        return "fake-model-2" if case == "anthropic-stream" else "fake-model"
    return f"{up}-{case}"


# ---------------------------------------------------------------------------------------------
# the bench


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="llmux-bench-")
        self.services: list[Service] = []
        self.failures: list[str] = []
        self.build = os.path.abspath(args.build)
        self.llmux_bin = os.path.join(self.build, "llmux")
        self.fake_bin = os.path.join(self.build, "llmux-fake-provider")
        self.loadgen_bin = os.path.join(self.build, "llmux-loadgen")
        self.results: dict = {}
        self.not_measured: dict[str, dict[str, str]] = {}  # "upstream/case" -> target -> why

    # -- helpers

    def fail(self, why: str) -> None:
        log(f"FAILED: {why}")
        self.failures.append(why)

    def start(self, name, argv, env=None, with_children=False) -> Service:
        s = Service(name, argv, self.tmp, env=env, with_children=with_children)
        self.services.append(s)
        return s

    def stop(self, s: Service) -> None:
        s.stop()
        if s in self.services:
            self.services.remove(s)

    def stop_all(self) -> None:
        for s in reversed(list(self.services)):
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                log(f"stopping {s.name}: {e}")
        self.services.clear()

    def write(self, name: str, data) -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path

    def start_llmux(self, name: str, binary: str | None = None) -> Service:
        argv = [binary or self.llmux_bin, "serve", "--config", self.llmux_config, "--port", "0"]
        if self.args.llmux_threads:
            argv += ["--threads", str(self.args.llmux_threads)]
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(self.tmp, "state"),
                   XDG_CONFIG_HOME=os.path.join(self.tmp, "config"))
        s = self.start(name, argv, env=env)
        s.wait_listening_line()
        return s

    # -- setup

    def setup(self) -> None:
        a = self.args
        for path in (self.llmux_bin, self.fake_bin):
            if not os.access(path, os.X_OK):
                raise BenchError(f"{path} is missing: run bench/run.sh, which builds it")
        if "portkey" in a.targets and not os.path.exists(PORTKEY_JS):
            raise BenchError(f"{PORTKEY_JS} is missing: run bench/run.sh, which installs it")

        self.fake = self.start("fake-provider", [self.fake_bin, "--port", "0", "--threads",
                                                 str(a.fake_threads), "--content", REPLY,
                                                 "--chunks", str(STREAM_CHUNKS)])
        self.fake.wait_listening_line()

        # The static upstream serves exactly what the fake provider answers, so both upstreams send
        # the same bytes and every target gets the same work.
        self.bodies = {}  # (upstream, case) -> OpenAI request; (upstream, case, "anthropic") -> Messages request
        for up in UPSTREAMS:
            for case in CASES:
                body = request_body(case_model(up, case), case)
                self.bodies[(up, case)] = self.write(f"body-{up}-{case}.json", body)
                if case == "anthropic-stream":
                    self.bodies[(up, case, "anthropic")] = self.write(f"body-{up}-{case}-messages.json",
                                                                      anthropic_request_body(body))
        static_replies = {}
        for case in CASES:
            if case == "routed":  # the plain request under another model name: the plain reply
                continue
            t = "direct"
            body = open(self.body_file(t, "fake", case), "rb").read()
            path = "/v1/messages" if speaks_anthropic(t, case) else "/v1/chat/completions"
            headers = dict(h.split(": ", 1) for h in self.anthropic_headers()) if speaks_anthropic(t, case) else {}
            status, _, reply = post(self.fake.port, path, body, headers)
            ok, why, _ = check_reply(reply_kind(t, case), status, reply)
            if not ok:
                raise BenchError(f"fake provider answers the {case} case wrongly: {why}")
            static_replies[case] = reply

        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx_bin = nginx
        static_port, nginx_static_port, nginx_fake_port, portkey_port, tls_port, nginx_tls_port = free_ports(6)
        self.tls_files = make_tls_files(self.tmp) if "tls" in a.upstreams else None
        prefix = os.path.join(self.tmp, "nginx-static")
        conf = self.write("nginx-static.conf", static_nginx_conf(prefix, static_port, static_replies,
                                                                 tls_port, self.tls_files))
        self.static = self.start("nginx-static", [nginx, "-p", prefix, "-c", conf, "-e", f"{prefix}/error.log"],
                                 with_children=True)
        self.static.wait_port(static_port)
        if self.tls_files:
            self.static.wait_port(tls_port)

        self.upstream_base = {
            ("fake", "plain"): f"http://{LOOPBACK}:{self.fake.port}/v1",
            ("fake", "stream"): f"http://{LOOPBACK}:{self.fake.port}/v1",
            ("static", "plain"): f"http://{LOOPBACK}:{static_port}/plain/v1",
            ("static", "stream"): f"http://{LOOPBACK}:{static_port}/stream/v1",
            ("fake", "anthropic-stream"): f"http://{LOOPBACK}:{self.fake.port}/v1",
            ("static", "anthropic-stream"): f"http://{LOOPBACK}:{static_port}/anthropic-stream/v1",
            ("tls", "plain"): f"https://{LOOPBACK}:{tls_port}/plain/v1",
            ("tls", "stream"): f"https://{LOOPBACK}:{tls_port}/stream/v1",
        }
        for up in ("static", "fake"):
            self.upstream_base[(up, "routed")] = self.upstream_base[(up, "plain")]
        providers = {"fake": self.upstream_base[("fake", "plain")],
                     "static-plain": self.upstream_base[("static", "plain")],
                     "static-stream": self.upstream_base[("static", "stream")],
                     "fake-anthropic": self.upstream_base[("fake", "anthropic-stream")],
                     "static-anthropic-stream": self.upstream_base[("static", "anthropic-stream")],
                     # The routed chains' second deployments: same upstream, never asked.
                     "fake-b": self.upstream_base[("fake", "plain")],
                     "static-plain-b": self.upstream_base[("static", "plain")]}
        extra = {}
        if self.tls_files:  # the same check nginx makes: the bench CA, the name "localhost", SNI
            for case in TLS_CASES:
                providers[f"tls-{case}"] = self.upstream_base[("tls", case)]
                extra[f"tls-{case}"] = (f"    tls: {{ ca_file: {self.tls_files['ca.pem']}, server_name: localhost }}\n"
                                        "    security: { tlsVersion: \"1.2\" }\n")
        models = {"fake": "fake-model", "static-plain": "static-plain", "static-stream": "static-stream",
                  "fake-anthropic": case_model("fake", "anthropic-stream"),
                  "static-anthropic-stream": case_model("static", "anthropic-stream"),
                  "fake-b": "fake-model-b", "static-plain-b": "static-plain-b",
                  "tls-plain": "tls-plain", "tls-stream": "tls-stream"}
        types = {"fake-anthropic": "anthropic", "static-anthropic-stream": "anthropic"}
        chains = {case_model("fake", "routed"): ["fake", "fake-b"],
                  case_model("static", "routed"): ["static-plain", "static-plain-b"]}
        self.llmux_config = self.write("llmux.yaml", llmux_conf(providers, models, types, chains, extra))

        self.gateways: dict[str, Service] = {}
        if "nginx" in a.targets:
            prefix = os.path.join(self.tmp, "nginx-proxy")
            routes = {"up_static": (nginx_static_port, static_port), "up_fake": (nginx_fake_port, self.fake.port)}
            if self.tls_files:
                routes["up_tls"] = (nginx_tls_port, tls_port)
            conf = self.write("nginx-proxy.conf", proxy_nginx_conf(
                prefix, routes, self.tls_files["ca.pem"] if self.tls_files else None))
            g = self.start("nginx-proxy", [nginx, "-p", prefix, "-c", conf, "-e", f"{prefix}/error.log"],
                           with_children=True)
            g.wait_port(nginx_static_port)
            g.wait_port(nginx_fake_port)
            self.nginx_ports = {"static": nginx_static_port, "fake": nginx_fake_port, "tls": nginx_tls_port}
            self.gateways["nginx"] = g
        if "portkey" in a.targets:
            env = dict(os.environ, NODE_ENV="production")
            g = self.start("portkey", ["node", PORTKEY_JS, f"--port={portkey_port}", "--headless"], env=env)
            g.wait_port(portkey_port, timeout=60)
            self.gateways["portkey"] = g
        if "llmux-baseline" in a.targets:
            self.gateways["llmux-baseline"] = self.start_llmux("llmux-baseline",
                                                               os.path.join(os.path.abspath(a.baseline), "llmux"))
        if "llmux" in a.targets:
            self.gateways["llmux"] = self.start_llmux("llmux")
        time.sleep(0.5)
        self.idle_rss_kb = {name: g.kb("VmRSS") for name, g in self.gateways.items()}
        log("listening: " + ", ".join(f"{n} {g.port}" for n, g in self.gateways.items())
            + f"; upstreams fake {self.fake.port}, static {static_port}")

    @staticmethod
    def anthropic_headers() -> list[str]:
        return [f"x-api-key: {ANTHROPIC_KEY}", f"anthropic-version: {ANTHROPIC_VERSION}"]

    def body_file(self, target: str, up: str, case: str) -> str:
        """The request body that `target` gets for this upstream and case."""
        return self.bodies[(up, case, "anthropic") if speaks_anthropic(target, case) else (up, case)]

    def target(self, target: str, up: str, case: str) -> tuple[int, str, list[str]]:
        """Port, path and extra headers for a request to `target` for this upstream and case."""
        base = self.upstream_base[(up, case)]
        headers = ["Authorization: Bearer sk-bench"]
        url = urllib.parse.urlsplit(base)
        if case == "anthropic-stream":
            # direct and nginx: the Messages request itself; Portkey and llmux: the OpenAI request,
            # which they translate to a Messages request, and the stream back to OpenAI chunks.
            if target == "direct":
                return url.port, url.path + "/messages", self.anthropic_headers()
            if target == "nginx":
                return self.nginx_ports[up], url.path + "/messages", self.anthropic_headers()
            if target == "portkey":
                return self.gateways["portkey"].port, "/v1/chat/completions", [
                    f"Authorization: Bearer {ANTHROPIC_KEY}", "x-portkey-provider: anthropic",
                    f"x-portkey-custom-host: {base}"]
            return self.gateways[target].port, "/v1/chat/completions", headers
        if target == "direct":
            return url.port, url.path + "/chat/completions", headers
        if target == "nginx":
            return self.nginx_ports[up], url.path + "/chat/completions", headers
        if target == "portkey":
            return self.gateways["portkey"].port, "/v1/chat/completions", headers + [
                "x-portkey-provider: openai", f"x-portkey-custom-host: {base}"]
        return self.gateways[target].port, "/v1/chat/completions", headers

    # -- throughput cases

    def check_targets(self) -> dict:
        checks = {}
        for up in self.args.upstreams:
            for case in self.args.wrk_cases:
                for t in self.case_targets(up, case):
                    body = open(self.body_file(t, up, case), "rb").read()
                    port, path, headers = self.target(t, up, case)
                    hdrs = dict(h.split(": ", 1) for h in headers)
                    try:
                        ca = self.tls_files["ca.pem"] if up == "tls" and t == "direct" else None
                        status, reply_headers, reply = post(port, path, body, hdrs, ca_file=ca)
                        ok, why, facts = check_reply(reply_kind(t, case), status, reply)
                        if ok and case == "routed":
                            ok, why = routed_by_the_chain(up, reply_headers)
                    except OSError as e:
                        ok, why, facts = False, str(e), {}
                    checks[f"{up}/{case}/{t}"] = {"ok": ok, **facts, **({"error": why} if why else {})}
                    if ok:
                        continue
                    if t == "portkey" and case == "anthropic-stream":
                        # Portkey's own Anthropic translation against the fake: if it cannot do it,
                        # the case goes on without it and says why, rather than failing the run.
                        if self.gateways["portkey"].alive():
                            self.not_measured.setdefault(f"{up}/{case}", {})[t] = f"n/a: {why}"
                            log(f"{t} cannot do the {up} {case} case, left out: {why}")
                            continue
                    self.fail(f"{t} answers the {up} {case} case wrongly: {why}")
        return checks

    def case_targets(self, up: str, case: str) -> list[str]:
        """The targets measured for this upstream and case (all but those found n/a)."""
        if up == "tls" and case not in TLS_CASES:
            return []
        return [t for t in self.args.targets if t not in self.not_measured.get(f"{up}/{case}", {})
                and (case != "routed" or t in ROUTED_TARGETS) and (up != "tls" or t in TLS_TARGETS)]

    def measure(self, t: str, up: str, case: str, seconds: int) -> dict:
        port, path, headers = self.target(t, up, case)
        g = self.gateways.get(t)
        ours = [self.fake, self.static] + list(self.gateways.values())
        before = g.cpu_ticks() if g else 0
        m0, o0, c0, w0 = machine_busy_ticks(), sum(p.cpu_ticks() for p in ours), children_ticks(), time.monotonic()
        scheme = "https" if up == "tls" and t == "direct" else "http"
        r = run_wrk(f"{scheme}://{LOOPBACK}:{port}{path}", self.body_file(t, up, case), headers, seconds,
                    self.args.connections)
        m1, o1, c1, w1 = machine_busy_ticks(), sum(p.cpu_ticks() for p in ours), children_ticks(), time.monotonic()
        # CPU that neither wrk nor our upstreams and gateways used: other work on the machine (noise).
        other = (m1 - m0) - (o1 - o0) - (c1 - c0)
        r["other_cpu_pct"] = max(0.0, other) / CLK_TCK / (w1 - w0) * 100
        if g:
            g.check_alive()
            ticks = g.cpu_ticks() - before
            r["cpu_ticks"] = ticks
            r["cpu_us_per_req"] = ticks / CLK_TCK * 1e6 / max(1, r["requests"])
        return r

    def throughput(self) -> dict:
        a = self.args
        out = {}
        if "portkey" in self.gateways and a.portkey_warmup > 0:
            # node needs many requests before its JIT settles; without this Portkey's first round is
            # several times slower than its later ones.
            each = max(1, a.portkey_warmup // (2 * len(a.upstreams)))  # per upstream and case
            todo = [(up, case) for up in a.upstreams for case in a.wrk_cases
                    if "portkey" in self.case_targets(up, case)]
            log(f"warming Portkey up for {each * len(todo)} s")
            for up, case in todo:
                self.measure("portkey", up, case, each)
        for up in a.upstreams:
            for group in measured_together(a.wrk_cases):
                runs = [(case, t) for case in group for t in self.case_targets(up, case)]
                if not runs:
                    continue
                if a.warmup > 0:
                    for case, t in runs:
                        self.measure(t, up, case, a.warmup)
                rounds = {run: [] for run in runs}
                for rnd in range(a.rounds):
                    for case, t in runs:
                        r = self.measure(t, up, case, a.duration)
                        rounds[(case, t)].append(r)
                        log(f"{up}/{case} round {rnd + 1}/{a.rounds} {target_label(t, case):8s} {r['rps']:>10.0f} req/s  "
                            f"p50 {r['p50_us'] / 1e3:7.2f} ms  p99 {r['p99_us'] / 1e3:7.2f} ms"
                            + (f"  cpu {r['cpu_us_per_req']:7.1f} us/req" if "cpu_us_per_req" in r else "")
                            + (f"  non-2xx {r['non2xx']}" if r["non2xx"] else "")
                            + (f"  {r['socket_errors_detail']}" if r["socket_errors"] else ""))
                hwm = {t: g.kb("VmHWM") for t, g in self.gateways.items()}
                for case in group:
                    key = f"{up}/{case}"
                    out[key] = self.summarise(key, {t: rs for (c, t), rs in rounds.items() if c == case}, hwm)
                direct = out.get(f"{up}/plain", {}).get("direct")
                if "routed" in group and direct:  # no direct of its own: added against the plain case's
                    for s in out[f"{up}/routed"].values():
                        s["added_p50_us"] = s["p50_us"] - direct["p50_us"]
                        s["added_p99_us"] = s["p99_us"] - direct["p99_us"]
        return out

    def summarise(self, key: str, rounds: dict, hwm: dict) -> dict:
        med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
        summary = {}
        for t, rs in rounds.items():
            s = {"rps": med([r["rps"] for r in rs]),
                 "p50_us": med([r["p50_us"] for r in rs]),
                 "p90_us": med([r["p90_us"] for r in rs]),
                 "p99_us": med([r["p99_us"] for r in rs]),
                 "requests": sum(r["requests"] for r in rs),
                 "non2xx": sum(r["non2xx"] for r in rs),
                 "socket_errors": sum(r["socket_errors"] for r in rs),
                 "rounds": rs}
            if speaks_anthropic(t, key.split("/")[1]):
                s["note"] = PASS_THROUGH_NOTE
            if t != "direct":
                s["cpu_us_per_req"] = med([r["cpu_us_per_req"] for r in rs])
                s["peak_rss_kb"] = hwm.get(t)
            if s["non2xx"] or s["socket_errors"]:
                self.fail(f"{key} {t}: {s['non2xx']} non-2xx responses, {s['socket_errors']} socket errors")
            summary[t] = s
        if "direct" in summary:
            d = summary["direct"]
            for t, s in summary.items():
                if t != "direct":
                    s["added_p50_us"] = s["p50_us"] - d["p50_us"]
                    s["added_p99_us"] = s["p99_us"] - d["p99_us"]
        return summary

    # -- fixed request rate (open loop)

    def fixed_rate(self) -> dict:
        """Latency at a fixed offered load (llmux-loadgen: request i due at i/rate, latency from the
        due time), where wrk's closed loop at c=32 only measures queueing at saturation. Portkey is
        left out: it cannot sustain the rate (about 1,000 req/s here)."""
        a = self.args
        targets = [t for t in a.targets if t != "portkey"]
        out = {}
        for up in a.upstreams:
            if up == "tls":  # the open-loop load generator speaks cleartext only
                continue
            key = f"{up}/plain"
            rounds = {t: [] for t in targets}
            for rnd in range(-1 if a.warmup > 0 else 0, a.rounds):  # round -1 warms up, unrecorded
                for t in targets:
                    r = self.loadgen(t, up, a.rate_duration if rnd >= 0 else max(1, a.warmup))
                    if rnd < 0:
                        continue
                    rounds[t].append(r)
                    log(f"{key} @{a.rate:,} req/s round {rnd + 1}/{a.rounds} {t:8s} p50 {r['p50_us']:7.1f} us  "
                        f"p99 {r['p99_us']:8.1f} us  p99.9 {r['p999_us']:8.1f} us"
                        + (f"  cpu {r['cpu_us_per_req']:5.1f} us/req" if "cpu_us_per_req" in r else "")
                        + (f"  errors {r['errors']} non-2xx {r['non_2xx']}" if r["errors"] or r["non_2xx"] else ""))
            med = statistics.median
            summary = {}
            for t, rs in rounds.items():
                s = {k: med([r[k] for r in rs]) for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us", "mean_us",
                                                           "achieved_rate")}
                s.update(requests=sum(r["requests"] for r in rs), errors=sum(r["errors"] for r in rs),
                         non_2xx=sum(r["non_2xx"] for r in rs), rounds=rs)
                if t != "direct":
                    s["cpu_us_per_req"] = med([r["cpu_us_per_req"] for r in rs])
                if s["errors"] or s["non_2xx"]:
                    self.fail(f"{key} at {a.rate} req/s {t}: {s['errors']} errors, {s['non_2xx']} non-2xx")
                summary[t] = s
            if "direct" in summary:
                for t, s in summary.items():
                    if t != "direct":
                        for p in ("p50", "p90", "p99", "p999"):
                            s[f"added_{p}_us"] = s[f"{p}_us"] - summary["direct"][f"{p}_us"]
            out[key] = summary
        return out

    def loadgen(self, t: str, up: str, seconds: int) -> dict:
        port, path, headers = self.target(t, up, "plain")
        g = self.gateways.get(t)
        before = g.cpu_ticks() if g else 0
        argv = [self.loadgen_bin, "--url", f"http://{LOOPBACK}:{port}{path}", "--body", self.bodies[(up, "plain")],
                "--rate", str(self.args.rate), "--connections", str(self.args.connections),
                "--duration", str(seconds), "--warmup", "0"]
        for h in headers:
            argv += ["--header", h]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
        try:
            r = json.loads(p.stdout)
        except json.JSONDecodeError:
            raise BenchError(f"llmux-loadgen failed against {t}: {p.stderr.strip() or p.stdout.strip()}")
        if g:
            g.check_alive()
            r["cpu_us_per_req"] = (g.cpu_ticks() - before) / CLK_TCK * 1e6 / max(1, r["requests"])
        return r

    # -- open streams through llmux

    def open_streams(self) -> list[dict]:
        a = self.args
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        cap = (soft - 64) // 2  # llmux holds two sockets per stream: client and upstream
        results = []
        for wanted in a.streams:
            n = min(wanted, cap)
            note = "" if n == wanted else (f"capped from {wanted:,} to {n:,}: RLIMIT_NOFILE is {soft} (hard {hard}) "
                                          "and llmux holds 2 sockets per stream")
            if note:
                log(f"open streams: {note}")
            # About `events_per_s` events in total whatever the count (one per 100 ms at 1,000 streams,
            # one per second at 10,000), so the CPU figure is large enough to read from /proc.
            interval = a.chunk_interval_ms or max(100, round(n * 1000 / a.stream_events_per_s))
            chunks = max(20, -(-a.stream_seconds * 1000 // interval))
            body = self.write(f"body-slow-stream-{n}.json", request_body(
                "fake-model", "stream", {"chunks": chunks, "chunk_interval_ms": interval,
                                         # a word or so in every chunk: with fewer words than chunks the
                                         # first chunks are empty, and llmux (rightly) holds a stream
                                         # until its first content, so each stream took ~15 s to open
                                         "content_size": chunks * 6}))
            results.append(self.open_streams_once(wanted, n, body, note, interval))
        return results

    def open_streams_once(self, wanted: int, n: int, body: str, note: str, interval: int) -> dict:
        a = self.args
        gw = self.start_llmux(f"llmux-streams-{n}")
        time.sleep(0.3)
        r = {"streams_requested": wanted, "streams": n, "note": note,
             "chunk_interval_ms": interval, "idle_rss_kb": gw.kb("VmRSS")}
        client = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "streams.py"), "--port", str(gw.port), "--count", str(n),
             "--body-file", body, "--header", "Authorization: Bearer sk-bench"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = client.stdout.readline().split()
            if not line or line[0] != "open":
                raise BenchError(f"streams client: {line} {client.stderr.read()}")
            opened, failed, secs = int(line[1]), int(line[2]), float(line[3])
            r.update(opened=opened, failed=failed, open_seconds=secs)
            if failed:
                self.fail(f"open streams: {failed} of {n} streams failed to open")
            time.sleep(1.0)

            def count():
                client.stdin.write("count\n")
                client.stdin.flush()
                f = client.stdout.readline().split()
                return int(f[1]), int(f[2])

            e0, _ = count()
            t0 = gw.cpu_ticks()
            w0 = time.monotonic()
            time.sleep(a.hold)
            t1 = gw.cpu_ticks()
            e1, live = count()
            wall = time.monotonic() - w0
            gw.check_alive()
            r.update(rss_kb=gw.kb("VmRSS"), peak_rss_kb=gw.kb("VmHWM"), live=live, hold_seconds=round(wall, 2),
                     events=e1 - e0, cpu_percent=(t1 - t0) / CLK_TCK / wall * 100,
                     cpu_us_per_event=(t1 - t0) / CLK_TCK * 1e6 / max(1, e1 - e0))
            r["rss_per_stream_kb"] = (r["rss_kb"] - r["idle_rss_kb"]) / max(1, opened)
            if live != opened:
                self.fail(f"open streams: {opened - live} of {opened} streams ended early")
            client.stdin.write("close\n")
            client.stdin.flush()
            client.wait(timeout=60)
            time.sleep(1.0)
            gw.check_alive()
            r["rss_after_close_kb"] = gw.kb("VmRSS")
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
            self.stop(gw)
        log(f"open streams {n}: RSS {r['idle_rss_kb'] / 1024:.1f} MB idle -> {r['rss_kb'] / 1024:.1f} MB "
            f"({r['rss_per_stream_kb']:.1f} KB/stream), CPU {r['cpu_percent']:.1f}% "
            f"({r['cpu_us_per_event']:.1f} us/event), after close {r['rss_after_close_kb'] / 1024:.1f} MB")
        return r

    # -- leak check

    def long_run(self) -> dict:
        a = self.args
        # Issue 12: no RSS growth over 1M requests to a TLS upstream (pooled TLS connections,
        # session tickets, the SSL streams' buffers), the path hosted providers take.
        up = next((u for u in ("tls", "static") if u in a.upstreams), a.upstreams[0])
        gw = self.start_llmux("llmux-long")
        url = f"http://{LOOPBACK}:{gw.port}/v1/chat/completions"
        headers = ["Authorization: Bearer sk-bench"]
        samples, total, errors = [], 0, 0
        t_start, ticks0 = time.monotonic(), gw.cpu_ticks()
        seconds = 2
        samples.append({"requests": 0, "rss_kb": gw.kb("VmRSS")})
        while total < a.long_requests:
            r = run_wrk(url, self.bodies[(up, "plain")], headers, seconds, a.connections)
            gw.check_alive()
            total += r["requests"]
            errors += r["non2xx"] + r["socket_errors"]
            samples.append({"requests": total, "rss_kb": gw.kb("VmRSS")})
            # aim at about 40 samples over the run
            seconds = max(1, min(30, round(a.long_requests / 40 / max(1.0, r["rps"]))))
            if len(samples) % 5 == 0:
                log(f"long: {total} requests, RSS {samples[-1]['rss_kb'] / 1024:.1f} MB")
        wall = time.monotonic() - t_start
        cpu = (gw.cpu_ticks() - ticks0) / CLK_TCK
        self.stop(gw)
        warm = next(s for s in samples if s["requests"] >= a.long_requests * 0.1)
        last = samples[-1]
        growth = last["rss_kb"] - warm["rss_kb"]
        limit = max(1024, warm["rss_kb"] * 0.05)
        res = {"upstream": up, "requests": total, "seconds": round(wall, 1), "errors": errors,
               "cpu_us_per_req": cpu * 1e6 / max(1, total),
               "rss_first_kb": samples[1]["rss_kb"], "rss_at_10pct_kb": warm["rss_kb"],
               "rss_last_kb": last["rss_kb"], "rss_max_kb": max(s["rss_kb"] for s in samples),
               "growth_after_10pct_kb": growth, "growth_limit_kb": round(limit),
               "grows": growth > limit, "samples": samples}
        if errors:
            self.fail(f"long run: {errors} non-2xx responses or socket errors")
        log(f"long: {total} requests in {wall:.0f} s, RSS first {res['rss_first_kb'] / 1024:.1f} MB, "
            f"at 10% {warm['rss_kb'] / 1024:.1f} MB, last {last['rss_kb'] / 1024:.1f} MB, "
            f"max {res['rss_max_kb'] / 1024:.1f} MB -> {'GROWS' if res['grows'] else 'no growth'}")
        return res

    # -- everything

    def run(self) -> dict:
        a = self.args
        started = datetime.datetime.now().astimezone()
        self.setup()
        res = {"date": started.isoformat(timespec="seconds"), "machine": machine(), "versions": self.versions(),
               "settings": {"mode": "smoke" if a.smoke else ("long" if a.long else "default"),
                            "rounds": a.rounds, "duration_s": a.duration, "warmup_s": a.warmup,
                            "connections": a.connections, "wrk_threads": 1, "targets": a.targets,
                            "upstreams": a.upstreams, "llmux_threads": a.llmux_threads or "default (one per core)",
                            "fake_threads": a.fake_threads, "nginx_workers": 1,
                            "cases": a.cases, "fixed_rate": a.rate, "fixed_rate_duration_s": a.rate_duration,
                            "request_bytes": {"/".join(k): os.path.getsize(v) for k, v in self.bodies.items()
                                              if k[0] in a.upstreams and k[1] in a.wrk_cases}},
               "idle_rss_kb": self.idle_rss_kb, "loadavg_start": loadavg()}
        res["checks"] = self.check_targets()
        res["cases"] = self.throughput()
        res["not_measured"] = self.not_measured
        if a.rate > 0 and "fixed-rate" in a.cases:
            res["fixed_rate"] = self.fixed_rate()
        for name, g in self.gateways.items():
            g.check_alive()
        for name in list(self.gateways):  # the remaining cases start their own llmux
            self.stop(self.gateways.pop(name))
        if a.streams and "open-streams" in a.cases:
            res["open_streams"] = self.open_streams()
        if a.long:
            res["long"] = self.long_run()
        others = [r["other_cpu_pct"] for c in res["cases"].values() for t in c.values() for r in t["rounds"]]
        res["other_cpu_pct"] = {"median": statistics.median(others), "max": max(others)} if others else None
        res["loadavg_end"] = loadavg()
        res["duration_s"] = round((datetime.datetime.now().astimezone() - started).total_seconds())
        res["failures"] = self.failures
        res["status"] = "FAILED" if self.failures else "OK"
        return res

    def versions(self) -> dict:
        def cmd(argv):
            try:
                p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
                return (p.stdout + p.stderr).strip().splitlines()[0]
            except (OSError, IndexError, subprocess.TimeoutExpired):
                return None
        v = {"nginx": cmd([self.nginx_bin, "-v"]), "wrk": cmd(["wrk", "-v"]), "node": cmd(["node", "--version"])}
        try:
            for pkg in ("@portkey-ai/gateway", "hono", "@hono/node-server"):
                with open(os.path.join(PORTKEY_DIR, "node_modules", pkg, "package.json")) as f:
                    v[pkg] = json.load(f)["version"]
        except OSError:
            pass
        rev = cmd(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "include", "CMakeLists.txt"],
                               capture_output=True, text=True).stdout.strip()
        v["llmux"] = f"{rev}{' + uncommitted changes' if dirty else ''}" if rev else None
        return v


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = proc_status_kb_file("/proc/meminfo", "MemTotal")
    os_name = ""
    try:
        with open("/etc/os-release") as f:
            os_name = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line).get(
                "PRETTY_NAME", "").strip('"')
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "kernel": platform.release(), "os": os_name}


def proc_status_kb_file(path: str, key: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------------------------------------
# reports


def fmt_ms(us):
    return "—" if us is None else f"{us / 1e3:.2f}"


def fmt_added(us):
    return "—" if us is None else f"{us:+.0f}"


def fmt_num(x, nd=0):
    return "—" if x is None else f"{x:,.{nd}f}"


def markdown(res: dict) -> str:
    m = res["machine"]
    st = res["settings"]
    lines = [f"## llmux benchmark — {res['date'][:16].replace('T', ' ')}", "",
             f"**{res['status']}**" + (": " + "; ".join(res["failures"]) if res["failures"] else ""), "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, Linux {m['kernel']}. "
             f"llmux {res['versions'].get('llmux')}, {res['versions'].get('nginx')}, "
             f"Portkey {res['versions'].get('@portkey-ai/gateway')} on node {res['versions'].get('node')}.", "",
             f"wrk -t1 -c{st['connections']}, {st['duration_s']} s per measurement, median of {st['rounds']} "
             f"interleaved round(s) ({', '.join(st['targets'])}). llmux threads: {st['llmux_threads']}; "
             f"nginx: 1 worker; fake provider threads: {st['fake_threads']}. Added latency is against direct "
             "to the same upstream; CPU is the gateway process's utime+stime per completed request "
             "(nginx: master + worker); peak RSS is VmHWM after that case (cumulative over the run).", "",
             other_work(res), "",
             "| upstream | case | target | req/s | p50 ms | p90 ms | p99 ms | added p50 µs | added p99 µs "
             "| CPU µs/req | peak RSS MB | non-2xx | socket errors |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    not_measured = res.get("not_measured", {})
    for key, targets in res["cases"].items():
        up, case = key.split("/")
        skipped = not_measured.get(key, {})
        for t in [t for t in TARGETS if t in targets or t in skipped]:
            if t not in targets:
                why = " ".join(skipped[t].split()).replace("|", "\\|")
                lines.append(f"| {up} | {CASE_TITLES[case]} | {t} | {why[:240]} | | | | | | | | | |")
                continue
            s = targets[t]
            rss = s.get("peak_rss_kb")
            lines.append(
                f"| {up} | {CASE_TITLES[case]} | {target_label(t, case)} | {fmt_num(s['rps'])} | {fmt_ms(s['p50_us'])} | "
                f"{fmt_ms(s['p90_us'])} | {fmt_ms(s['p99_us'])} | {fmt_added(s.get('added_p50_us'))} | "
                f"{fmt_added(s.get('added_p99_us'))} | {fmt_num(s.get('cpu_us_per_req'), 1)} | "
                f"{'—' if rss is None else f'{rss / 1024:.1f}'} | {s['non2xx']} | {s['socket_errors']} |")
    if any(k.endswith("/anthropic-stream") for k in res["cases"]):
        lines += ["", f"{CASE_TITLES['anthropic-stream']}: Portkey and llmux get the OpenAI stream request, send "
                  "an Anthropic Messages request upstream and translate the Anthropic stream back into "
                  "OpenAI chunks. direct and nginx get the Messages request itself and return the Anthropic "
                  "stream unchanged: direct is the floor, nginx a pass-through (it cannot translate), so "
                  "nginx's row is not the same work and not a comparison with the translating gateways. "
                  "Added latency is against direct's Anthropic stream."]
    lines += ["", "Idle RSS after start: " + ", ".join(f"{k} {v / 1024:.1f} MB" for k, v in res["idle_rss_kb"].items())]

    if res.get("fixed_rate"):
        lines += ["", f"### Fixed rate: {st['fixed_rate']:,} req/s offered, {st['connections']} connections, open loop "
                  f"(bench/loadgen: latency from the due time when the connection was still busy, else from the write; "
                  f"{st['fixed_rate_duration_s']} s, median of "
                  f"{st['rounds']} interleaved rounds; Portkey cannot sustain this rate)", "",
                  "| upstream | target | p50 µs | p90 µs | p99 µs | p99.9 µs | added p50 µs | added p99 µs "
                  "| added p99.9 µs | CPU µs/req | errors |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for key, targets in res["fixed_rate"].items():
            up = key.split("/")[0]
            for t, s in targets.items():
                lines.append(f"| {up} | {t} | {s['p50_us']:.0f} | {s['p90_us']:.0f} | {s['p99_us']:.0f} | "
                             f"{s['p999_us']:.0f} | {fmt_added(s.get('added_p50_us'))} | {fmt_added(s.get('added_p99_us'))} | "
                             f"{fmt_added(s.get('added_p999_us'))} | {fmt_num(s.get('cpu_us_per_req'), 1)} | "
                             f"{s['errors'] + s['non_2xx']} |")

    if res.get("open_streams"):
        lines += ["", "### Open slow streams through llmux (fake upstream; a fresh llmux per row; CPU and RSS "
                  "measured while every stream is open)", "",
                  "| streams | opened | failed | ms between events | RSS idle MB | RSS open MB | KB/stream "
                  "| peak RSS MB | CPU % of a core | CPU µs/event | RSS after close MB |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        notes = []
        for r in res["open_streams"]:
            lines.append(f"| {r['streams']:,} | {r.get('opened', 0):,} | {r.get('failed', '—')} | "
                         f"{r['chunk_interval_ms']} | {r['idle_rss_kb'] / 1024:.1f} | {r.get('rss_kb', 0) / 1024:.1f} | "
                         f"{r.get('rss_per_stream_kb', 0):.1f} | {r.get('peak_rss_kb', 0) / 1024:.1f} | "
                         f"{r.get('cpu_percent', 0):.1f} | {r.get('cpu_us_per_event', 0):.1f} | "
                         f"{r.get('rss_after_close_kb', 0) / 1024:.1f} |")
            if r["note"]:
                notes.append(f"{r['streams_requested']:,} streams: {r['note']}.")
        lines += [""] + notes if notes else []

    if res.get("long"):
        L = res["long"]
        lines += ["", f"### Leak check: {L['requests']:,} plain requests through llmux ({L['upstream']} upstream, "
                  f"{L['seconds']:.0f} s)", "",
                  f"RSS first sample {L['rss_first_kb'] / 1024:.1f} MB, at 10% {L['rss_at_10pct_kb'] / 1024:.1f} MB, "
                  f"last {L['rss_last_kb'] / 1024:.1f} MB, max {L['rss_max_kb'] / 1024:.1f} MB; growth after 10% "
                  f"{L['growth_after_10pct_kb'] / 1024:+.1f} MB (limit {L['growth_limit_kb'] / 1024:.1f} MB): "
                  f"**{'GROWS' if L['grows'] else 'no growth'}**. CPU {L['cpu_us_per_req']:.1f} µs/request, "
                  f"{L['errors']} errors."]

    lines += ["", "### Issue 3 targets (llmux, ratios within this run)", "",
              "| target | upstream | value | met |", "|---|---|---|---|"]
    for row in targets_check(res):
        lines.append(f"| {row[0]} | {row[1]} | {row[2]} | {row[3]} |")
    return "\n".join(lines) + "\n"


def other_work(res: dict) -> str:
    o = res.get("other_cpu_pct")
    text = f"Load average at start {res['loadavg_start']}, at end {res.get('loadavg_end', '?')}"
    if o:
        text += (f"; CPU used by other processes during the measurements: median {o['median']:.0f}%, "
                 f"max {o['max']:.0f}% of one core")
        if o["max"] > 20:
            text += " (other work competed for the cores: absolute figures are noisy, ratios within a round less so)"
    return text + "."


def targets_check(res: dict) -> list[tuple]:
    rows = []
    yes = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    for key, t in res["cases"].items():
        up, case = key.split("/")
        lx, ng, pk = t.get("llmux"), t.get("nginx"), t.get("portkey")
        if case == "routed":
            plain = res["cases"].get(f"{up}/plain", {}).get("llmux")
            if lx and plain and plain.get("cpu_us_per_req"):
                ratio = lx["cpu_us_per_req"] / plain["cpu_us_per_req"]
                rows.append(("routed: CPU/request within 5% of plain (same run)", up,
                             f"{lx['cpu_us_per_req']:.1f} vs {plain['cpu_us_per_req']:.1f} µs ({ratio:.3f}×)",
                             yes(ratio <= 1.05)))
            continue
        if not lx or case == "anthropic-stream":  # not a case of the issue (and nginx is a pass-through there)
            continue
        if ng:
            ratio = lx["cpu_us_per_req"] / ng["cpu_us_per_req"] if ng["cpu_us_per_req"] else float("inf")
            rows.append((f"{case}: CPU/request ≤ 1.0× nginx", up, f"{ratio:.2f}×", yes(ratio <= 1.0)))
            if case == "plain":
                ratio = lx["rps"] / ng["rps"]
                rows.append(("plain: req/s ≥ nginx", up, f"{ratio:.2f}×", yes(ratio >= 1.0)))
        if case == "plain" and lx.get("added_p99_us") is not None:
            rows.append((f"plain: added p99 ≤ 100 µs (wrk c={res['settings']['connections']}, saturated)", up,
                         f"{lx['added_p99_us']:.0f} µs" + (f" (nginx {ng['added_p99_us']:.0f} µs)" if ng else ""),
                         yes(lx["added_p99_us"] <= 100)))
            fixed = res.get("fixed_rate", {}).get(key, {})
            fl, fn = fixed.get("llmux"), fixed.get("nginx")
            if fl and "added_p99_us" in fl:
                rows.append((f"plain: added p99 ≤ 100 µs ({res['settings']['fixed_rate']:,} req/s open loop)", up,
                             f"{fl['added_p99_us']:.0f} µs" + (f" (nginx {fn['added_p99_us']:.0f} µs)" if fn else ""),
                             yes(fl["added_p99_us"] <= 100)))
        if pk:
            ratio = lx["rps"] / pk["rps"]
            rows.append((f"{case}: req/s ≥ 40× Portkey", up, f"{ratio:.1f}×", yes(ratio >= 40)))
    if "llmux" in res["idle_rss_kb"]:
        v = res["idle_rss_kb"]["llmux"] / 1024
        rows.append(("idle RSS ≤ 30 MB", "—", f"{v:.1f} MB", yes(v <= 30)))
    for r in res.get("open_streams", []):
        if r["streams_requested"] >= 10000 and "rss_kb" in r:
            v = r["rss_kb"] / 1024
            extra = "" if r["streams"] == r["streams_requested"] else f" at {r['streams']:,} streams (capped)"
            rows.append(("RSS ≤ 200 MB with 10,000 open streams", "fake", f"{v:.1f} MB{extra}", yes(v <= 200)))
    if res.get("long"):
        L = res["long"]
        rows.append((f"no RSS growth over {L['requests']:,} requests", L["upstream"],
                     f"{L['growth_after_10pct_kb'] / 1024:+.1f} MB", yes(not L["grows"])))
    return rows


def chart(res: dict, png: str, tmp: str) -> bool:
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        log("gnuplot is missing: no chart")
        return False
    groups = list(res["cases"].keys())
    targets = [t for t in TARGETS if any(t in res["cases"][g] for g in groups)]
    data = os.path.join(tmp, "chart.dat")
    label_lines = 2
    with open(data, "w") as f:
        f.write("# group " + " ".join(f"rps_{t} cpu_{t}" for t in targets) + "\n")
        for g in groups:
            up, case = g.split("/")
            title = CASE_TITLES[case].replace(", ", "\\n") if case == "anthropic-stream" else CASE_TITLES[case]
            note = "\\n(nginx: pass-through)" if speaks_anthropic("nginx", case) else ""
            note += "".join(f"\\n({t}: n/a)" for t in res.get("not_measured", {}).get(g, {}))
            row = [f'"{up} upstream\\n{title}{note}"']
            label_lines = max(label_lines, row[0].count("\\n") + 1)
            for t in targets:
                s = res["cases"][g].get(t, {})
                row.append(f"{s['rps']:.1f}" if s.get("rps") else "NaN")
                row.append(f"{s['cpu_us_per_req']:.2f}" if s.get("cpu_us_per_req") else "NaN")
            f.write(" ".join(row) + "\n")
    colors = {"direct": "#9e9e9e", "nginx": "#2e7d32", "portkey": "#c62828", "llmux": "#1565c0",
              "llmux-baseline": "#90caf9"}
    gw_targets = [t for t in targets if t != "direct"]

    def panel(ylabel, kind, ts, fmt):
        n, gap = len(ts), 1
        bars, labels = [], []
        for i, t in enumerate(ts):
            col = 2 + targets.index(t) * 2 + (0 if kind == "rps" else 1)
            bars.append(f"'{data}' using {col}{':xtic(1)' if i == 0 else ''} title '{t}' lc rgb '{colors[t]}'")
            off = (i - (n - 1) / 2) / (n + gap)
            labels.append(f"'{data}' using ($0+({off:.4f})):{col}:(sprintf('{fmt}', ${col})) "
                          "with labels offset 0,0.7 font ',9' notitle")
        return (f"set ylabel '{ylabel}'\nplot " + ", \\\n     ".join(bars + labels) + "\n")

    title = (f"llmux bench {res['date'][:16].replace('T', ' ')} · {res['machine']['cpu']} · "
             f"{res['machine']['cores']} cores · wrk -t1 -c{res['settings']['connections']}"
             + (" · FAILED" if res["status"] != "OK" else ""))
    script = f"""set terminal pngcairo size 1400,1000 font 'DejaVu Sans,11'
set output '{png}'
set datafile missing 'NaN'
set multiplot layout 2,1 title "{title}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set key outside right top vertical
set grid ytics
set logscale y
set format y '%g'
set xtics nomirror
set yrange [*:*]
set xrange [-0.6:{len(groups) - 0.4}]
set bmargin {1.5 + label_lines}
set title 'requests/s (higher is better, log scale)'
{panel('requests/s', 'rps', targets, '%.0f')}
set title 'gateway CPU time per request, µs (lower is better, log scale)'
{panel('CPU µs / request', 'cpu', gw_targets, '%.1f')}
unset multiplot
"""
    path = os.path.join(tmp, "chart.gp")
    with open(path, "w") as f:
        f.write(script)
    p = subprocess.run([gnuplot, path], capture_output=True, text=True)
    if p.returncode != 0:
        log(f"gnuplot failed: {p.stderr}")
        return False
    return True


# ---------------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description="llmux vs direct, nginx and Portkey on loopback (use bench/run.sh)")
    p.add_argument("--build", default=os.path.join(ROOT, "build-bench"), help="directory with the Release binaries")
    p.add_argument("--smoke", action="store_true", help="one 1 s round of every target and case, 100 open streams")
    p.add_argument("--long", action="store_true", help="also run the 1-million-request RSS leak check")
    p.add_argument("--long-requests", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=4, help="seconds per measurement")
    p.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per target and case")
    p.add_argument("--portkey-warmup", type=int, default=12, help="extra warm-up seconds for node's JIT")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--targets", default=",".join(t for t in TARGETS if t != "llmux-baseline"))
    p.add_argument("--baseline", default=None,
                   help="build directory of another llmux (e.g. the commit before a change): measured in the "
                        "same run as target llmux-baseline")
    p.add_argument("--cases", default=",".join(CASES + OTHER_CASES),
                   help=f"cases to run, of {', '.join(CASES + OTHER_CASES)} (default all; --long adds the leak "
                        "check to them)")
    p.add_argument("--upstreams", default=",".join(UPSTREAMS))
    p.add_argument("--streams", default=None, help="open-stream counts through llmux (default 1000,10000; "
                   "100 with --smoke); 0 skips")
    p.add_argument("--no-streams", action="store_true", help="skip the open-streams case")
    p.add_argument("--hold", type=int, default=5, help="seconds to measure while the streams are open")
    p.add_argument("--chunk-interval-ms", type=int, default=0,
                   help="interval between a slow stream's events (default: so that all streams together "
                        "carry --stream-events-per-s)")
    p.add_argument("--stream-events-per-s", type=int, default=10000)
    p.add_argument("--stream-seconds", type=int, default=600,
                   help="how long each slow stream would last (opening 10,000 can take minutes)")
    p.add_argument("--llmux-threads", type=int, default=1,
                   help="llmux --threads (default 1, like nginx's one worker; 0: llmux's default, one per core)")
    p.add_argument("--rate", type=int, default=10000,
                   help="fixed request rate of the open-loop latency case (llmux-loadgen); 0 skips it")
    p.add_argument("--rate-duration", type=int, default=10, help="seconds per open-loop measurement")
    p.add_argument("--fake-threads", type=int, default=1)
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    a = p.parse_args()
    if a.smoke:
        a.rounds, a.duration, a.warmup, a.hold, a.portkey_warmup, a.rate_duration = 1, 1, 0, 1, 0, 1
        a.streams = a.streams or "100"
    a.streams = a.streams or "1000,10000"
    a.targets = [t for t in a.targets.split(",") if t]
    a.upstreams = [u for u in a.upstreams.split(",") if u]
    a.cases = [c for c in a.cases.split(",") if c]
    bad = ([t for t in a.targets if t not in TARGETS] + [u for u in a.upstreams if u not in UPSTREAMS]
           + [c for c in a.cases if c not in CASES + OTHER_CASES])
    if bad:
        p.error(f"unknown target, upstream or case: {', '.join(bad)}")
    a.cases = [c for c in CASES + OTHER_CASES if c in a.cases]  # always in the same order
    a.wrk_cases = [c for c in CASES if c in a.cases]
    if a.baseline and "llmux-baseline" not in a.targets:
        a.targets.append("llmux-baseline")
    if "llmux-baseline" in a.targets and not a.baseline:
        p.error("target llmux-baseline needs --baseline BUILD_DIR")
    a.targets = [t for t in TARGETS if t in a.targets]  # keep the A B C D order
    a.streams = [] if a.no_streams else [int(x) for x in a.streams.split(",") if x.strip() and int(x) > 0]
    if a.long and "llmux" not in a.targets:
        a.targets.append("llmux")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    bench = Bench(a)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    try:
        res = bench.run()
    except (BenchError, KeyboardInterrupt, subprocess.TimeoutExpired) as e:
        bench.stop_all()
        log(f"FAILED: {e}")
        log(f"logs kept in {bench.tmp}")
        return 1
    finally:
        bench.stop_all()

    os.makedirs(a.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + ("-smoke" if a.smoke else "")
    base = os.path.join(a.out, f"bench-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=2)
    md = markdown(res)
    with open(base + ".md", "w") as f:
        f.write(md)
    png_ok = chart(res, base + ".png", bench.tmp)
    if not a.smoke:  # latest.* is the last real run, never a smoke run
        for ext in ("json", "md") + (("png",) if png_ok else ()):
            shutil.copyfile(f"{base}.{ext}", os.path.join(a.out, f"latest.{ext}"))
    if res["status"] == "OK":
        shutil.rmtree(bench.tmp, ignore_errors=True)
    else:
        log(f"logs kept in {bench.tmp}")
    print()
    print(md)
    print(f"results: {base}.json, {base}.md" + (f", {base}.png" if png_ok else " (no chart)"))
    print(f"RESULT: {res['status']}" + (f" ({len(res['failures'])} failures)" if res["failures"] else ""))
    return 0 if res["status"] == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
