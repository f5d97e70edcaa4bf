#!/usr/bin/env python3
"""Clients over TLS to the gateway (issue 12): nginx `listen ssl` and llmux `server.tls`, side by
side in one run, both in front of the same cleartext upstream (the fake provider, one thread).

A CA-less self-signed certificate is made at start (openssl CLI); wrk keeps its 32 connections
open, so the figures are the cost of TLS records on a warm connection (the handshake is paid once
per connection). Rounds are interleaved nginx, llmux, nginx, ...; the median of the rounds is shown.
  bench/https_clients.py [--build build] [--seconds 4] [--rounds 3] [--case plain|stream]
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import CLK_TCK, LUA, LOOPBACK, nginx_common  # noqa: E402
from slow_readers import start as start_listening  # noqa: E402


def ticks(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total


def https_nginx_conf(prefix, port, upstream_port, cert, key):
    return nginx_common(prefix) + f"""  upstream fake {{
    server {LOOPBACK}:{upstream_port};
    keepalive 64;
  }}
  server {{
    listen {LOOPBACK}:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {{
      proxy_pass http://fake;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }}
  }}
}}
"""


def wrk(url, body_file, seconds):
    env = dict(os.environ, BENCH_BODY_FILE=body_file, BENCH_HEADERS="Authorization: Bearer sk-bench")
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds}s", "--timeout", "5s", "-s", LUA, url],
                         env=env, capture_output=True, text=True, timeout=seconds + 60).stdout
    requests = int(out.split(" requests in ")[0].split()[-1])
    rps = float(out.split("Requests/sec:")[1].split()[0])
    errors = "Non-2xx" in out or "Socket errors" in out
    return requests, rps, errors


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    p.add_argument("--seconds", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--case", choices=["plain", "stream"], default="plain")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="llmux-https-bench-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert], check=True,
                   capture_output=True)
    procs = []
    try:
        fake, fake_port = start_listening([os.path.join(a.build, "llmux-fake-provider"), "--port", "0", "--threads", "1",
                                           "--chunks", "20"])
        procs.append(fake)
        s = socket.socket()
        s.bind((LOOPBACK, 0))
        nginx_port = s.getsockname()[1]
        s.close()
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(https_nginx_conf(os.path.join(tmp, "nginx"), nginx_port, fake_port, cert, key))
        nginx = subprocess.Popen(["nginx", "-c", conf, "-p", tmp], stderr=subprocess.DEVNULL)
        procs.append(nginx)
        config = os.path.join(tmp, "llmux.yaml")
        with open(config, "w") as f:
            f.write(f"server:\n  tls:\n    cert: {cert}\n    key: {key}\nproviders:\n  fake:\n"
                    f"    base_url: http://{LOOPBACK}:{fake_port}/v1\n    api_key: sk-bench\n    models: [fake-model]\n")
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(tmp, "state"), XDG_CONFIG_HOME=os.path.join(tmp, "config"))
        llmux, llmux_port = start_listening([os.path.join(a.build, "llmux"), "serve", "--config", config, "--port", "0",
                                             "--threads", "1"], env)
        procs.append(llmux)
        body = os.path.join(tmp, "body.json")
        with open(body, "w") as f:
            json.dump({"model": "fake-model", "stream": a.case == "stream",
                       "messages": [{"role": "user", "content": "Say hello " * 30}]}, f)
        time.sleep(0.5)  # nginx has no "listening" line; the warm-up below fails loudly if it is not up
        nginx_pids = [nginx.pid] + [int(x) for x in subprocess.run(["pgrep", "-P", str(nginx.pid)],
                                                                   capture_output=True, text=True).stdout.split()]
        targets = {"nginx": (nginx_port, nginx_pids), "llmux": (llmux_port, [llmux.pid])}
        rounds = {t: [] for t in targets}
        for t, (port, _) in targets.items():
            wrk(f"https://{LOOPBACK}:{port}/v1/chat/completions", body, 1)
        for _ in range(a.rounds):
            for t, (port, pids) in targets.items():
                t0 = ticks(pids)
                n, rps, errors = wrk(f"https://{LOOPBACK}:{port}/v1/chat/completions", body, a.seconds)
                cpu_us = (ticks(pids) - t0) / CLK_TCK * 1e6 / max(1, n)
                rounds[t].append((rps, cpu_us, errors))
        print(f"clients over TLS to the gateway, {a.case}, wrk -t1 -c32, {a.rounds} x {a.seconds} s, median:")
        print("| target | req/s | CPU µs/request | errors |\n|---|---:|---:|---|")
        for t, rs in rounds.items():
            print(f"| {t} | {statistics.median(r[0] for r in rs):,.0f} | {statistics.median(r[1] for r in rs):.1f} | "
                  f"{'yes' if any(r[2] for r in rs) else 'none'} |")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
