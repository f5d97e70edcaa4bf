#!/usr/bin/env python3
"""The TLS paths of issue 12 beside nginx, in one run of interleaved rounds (median shown).

The upstream is the bench's static nginx (fixed bodies, the fake provider's replies) behind a TLS
1.3 nginx front (certificate for "localhost" signed by a CA the bench makes) that offers HTTP/2
and HTTP/1.1 by ALPN, as hosted providers do, and reads each request body as they do. Two parts:

  upstream   clients in cleartext; the proxy reaches the upstream over TLS. Targets: nginx
             (proxy_pass https, keepalive pool, session reuse), llmux (its pooled HTTP/1.1
             engine) and llmux-h2 (`http_version: "2"`: curl, multiplexed HTTP/2 streams).
             Cases plain and stream, at each --connections (default 32 and 512).
  clients    clients over TLS to the proxy, and TLS to the upstream: nginx (`listen ssl` +
             proxy_pass https) vs llmux (`server.tls` + an https provider). wrk keeps its
             connections, so this is the cost of TLS records on warm connections.

--long N also sends N requests through llmux over the TLS upstream and samples its RSS.
  bench/tls_paths.py [--build build] [--seconds 4] [--rounds 3] [--parts upstream,clients]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
from bench import LOOPBACK, BenchError, Service  # noqa: E402

CASES = ("plain", "stream")


def upstream_connections(port: int, pids: list[int]) -> int:
    """The proxy's established TCP connections to the upstream's port (idle pooled ones included)."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", f"( dport = :{port} )"],
                         capture_output=True, text=True).stdout
    owners = tuple(f"pid={pid}," for pid in pids)
    return len([line for line in out.splitlines() if any(o in line for o in owners)])


class Run:
    def __init__(self, a):
        self.a = a
        self.tmp = tempfile.mkdtemp(prefix="llmux-tls-bench-")
        self.services: list[Service] = []
        self.nginx = "/usr/sbin/nginx"

    def start(self, name, argv, env=None, with_children=False) -> Service:
        s = Service(name, argv, self.tmp, env, with_children)
        self.services.append(s)
        return s

    def write(self, name: str, data) -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path

    def setup(self) -> None:
        a = self.a
        fake = self.start("fake-provider", [os.path.join(a.build, "llmux-fake-provider"), "--port", "0",
                                            "--threads", "1", "--content", bench.REPLY,
                                            "--chunks", str(bench.STREAM_CHUNKS)])
        fake.wait_listening_line()
        self.bodies, self.llmux_bodies, replies = {}, {}, {}
        for case in CASES:
            body = bench.request_body("fake-model", case)
            self.bodies[case] = self.write(f"body-{case}.json", body)
            # llmux routes by model name (its providers are tls-plain, tls-stream), nginx by path.
            self.llmux_bodies[case] = self.write(f"body-{case}-llmux.json",
                                                 body.replace(b'"fake-model"', f'"tls-{case}"'.encode()))
            status, _, reply = bench.post(fake.port, "/v1/chat/completions", body, {})
            ok, why, _ = bench.check_reply(case, status, reply)
            if not ok:
                raise BenchError(f"fake provider answers the {case} case wrongly: {why}")
            replies[case] = reply
        fake.stop()

        self.tls = bench.make_tls_files(self.tmp)
        (static_port, self.up_port, self.nginx_port, self.nginx_tls_port) = bench.free_ports(4)
        prefix = os.path.join(self.tmp, "nginx-static")
        conf = self.write("nginx-static.conf", self.tls_upstream_conf(prefix, static_port, replies))
        self.static = self.start("nginx-static", [self.nginx, "-p", prefix, "-c", conf, "-e", f"{prefix}/error.log"],
                                 with_children=True)
        self.static.wait_port(self.up_port)

        prefix = os.path.join(self.tmp, "nginx-proxy")
        conf = self.write("nginx-proxy.conf", bench.proxy_nginx_conf(
            prefix, {"up_tls": (self.nginx_port, self.up_port)}, self.tls["ca.pem"],
            client_tls={"port": self.nginx_tls_port, "cert": self.tls["server.pem"], "key": self.tls["server.key"]}))
        self.proxy = self.start("nginx-proxy", [self.nginx, "-p", prefix, "-c", conf, "-e", f"{prefix}/error.log"],
                                with_children=True)
        self.proxy.wait_port(self.nginx_port)
        self.proxy.wait_port(self.nginx_tls_port)

        self.llmux = {"llmux": self.start_llmux("llmux", http2=False, client_tls=False),
                      "llmux-h2": self.start_llmux("llmux-h2", http2=True, client_tls=False)}
        self.llmux_tls = self.start_llmux("llmux-https", http2=False, client_tls=True)

    def tls_upstream_conf(self, prefix: str, static_port: int, replies: dict) -> str:
        """The static bodies on static_port in cleartext, and on up_port over TLS with HTTP/2 offered,
        in front of them. nginx answers `return` without reading a request body; over HTTP/2 it
        then resets the stream while the client may still be sending it, which curl reports as a
        failed transfer. Proxying reads the body first, as a real provider does."""
        text = bench.static_nginx_conf(prefix, static_port, replies)
        assert text.endswith("}\n")
        return text[:-2] + f"""  upstream bodies {{
    server {LOOPBACK}:{static_port};
    keepalive 64;
  }}
  server {{
    listen {LOOPBACK}:{self.up_port} ssl http2;
    ssl_certificate {self.tls['server.pem']};
    ssl_certificate_key {self.tls['server.key']};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:up:1m;
    ssl_session_tickets on;
    location / {{
      proxy_pass http://bodies;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }}
  }}
}}
"""

    def start_llmux(self, name: str, http2: bool, client_tls: bool) -> Service:
        """Configured as bench.py configures llmux for its tls upstream (the same provider block)."""
        providers = {f"tls-{case}": f"https://{LOOPBACK}:{self.up_port}/{case}/v1" for case in CASES}
        models = {key: key for key in providers}
        extra = {key: (f"    tls: {{ ca_file: {self.tls['ca.pem']}, server_name: localhost }}\n"
                       + ("    http_version: \"2\"\n" if http2 else "")) for key in providers}
        text = bench.llmux_conf(providers, models, extra=extra)
        if client_tls:
            text = f"server:\n  tls: {{ cert: {self.tls['server.pem']}, key: {self.tls['server.key']} }}\n" + text
        config = self.write(f"{name}.yaml", text)
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(self.tmp, f"{name}-state"),
                   XDG_CONFIG_HOME=os.path.join(self.tmp, f"{name}-config"))
        s = self.start(name, [os.path.join(self.a.build, "llmux"), "serve", "--config", config, "--port", "0",
                              "--threads", "1"], env)
        s.wait_listening_line()
        return s

    def body_for(self, target: str, case: str) -> tuple[str, list[str]]:
        """The request body file and headers: nginx maps the path, llmux the model name."""
        bodies = self.bodies if target.startswith("nginx") else self.llmux_bodies
        return bodies[case], ["Authorization: Bearer sk-bench"]

    def url(self, target: str, case: str) -> str:
        if target == "nginx":
            return f"http://{LOOPBACK}:{self.nginx_port}/{case}/v1/chat/completions"
        if target == "nginx-https":
            return f"https://{LOOPBACK}:{self.nginx_tls_port}/{case}/v1/chat/completions"
        if target == "llmux-https":
            return f"https://{LOOPBACK}:{self.llmux_tls.port}/v1/chat/completions"
        return f"http://{LOOPBACK}:{self.llmux[target].port}/v1/chat/completions"

    def service(self, target: str) -> Service:
        if target.startswith("nginx"):
            return self.proxy
        return self.llmux_tls if target == "llmux-https" else self.llmux[target]

    def measure(self, target: str, case: str, connections: int, seconds: int) -> dict:
        body, headers = self.body_for(target, case)
        s = self.service(target)
        sampled = []
        sampler = threading.Timer(seconds / 2, lambda: sampled.append(upstream_connections(self.up_port, s.pids())))
        t0 = s.cpu_ticks()
        sampler.start()
        r = bench.run_wrk(self.url(target, case), body, headers, seconds, connections)
        sampler.cancel()
        r["cpu_us"] = (s.cpu_ticks() - t0) / bench.CLK_TCK * 1e6 / max(1, r["requests"])
        r["upstream_conns"] = sampled[0] if sampled else -1
        s.check_alive()
        if r["non2xx"] or r["socket_errors"]:
            raise BenchError(f"{target} {case} c={connections}: {r['non2xx']} non-2xx, {r['socket_errors_detail']}")
        return r

    def rounds(self, targets: list[str], case: str, connections: int) -> dict:
        for t in targets:  # warm-up: connections, TLS sessions, the JIT-free equivalent of a first pass
            self.measure(t, case, connections, 1)
        results = {t: [] for t in targets}
        for _ in range(self.a.rounds):
            for t in targets:
                results[t].append(self.measure(t, case, connections, self.a.seconds))
        return {t: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50_us", "p99_us", "cpu_us",
                                                                       "upstream_conns")}
                for t, rs in results.items()}

    def long_run(self, n: int) -> list[tuple[int, float]]:
        """RSS of llmux (TLS upstream, plain case) every ~10 s until n requests have been answered."""
        s, done, samples = self.llmux["llmux"], 0, []
        body, headers = self.body_for("llmux", "plain")
        while done < n:
            r = bench.run_wrk(self.url("llmux", "plain"), body, headers, 10, 32)
            if r["non2xx"] or r["socket_errors"]:
                raise BenchError(f"long run: {r['non2xx']} non-2xx, {r['socket_errors_detail']}")
            done += r["requests"]
            samples.append((done, s.kb("VmRSS") / 1024))
        return samples


def table(title: str, res: dict) -> str:
    lines = [f"\n{title}\n", "| case | connections | target | req/s | p50 ms | p99 ms | CPU µs/request | "
             "upstream connections | CPU vs nginx |", "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for (case, conns), by_target in res.items():
        base = next(v["cpu_us"] for t, v in by_target.items() if t.startswith("nginx"))
        for t, v in by_target.items():
            lines.append(f"| {case} | {conns} | {t} | {v['rps']:,.0f} | {v['p50_us'] / 1000:.2f} | "
                         f"{v['p99_us'] / 1000:.2f} | {v['cpu_us']:.1f} | {v['upstream_conns']:.0f} | "
                         f"{v['cpu_us'] / base:.2f}× |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    p.add_argument("--seconds", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", default="32,512")
    p.add_argument("--parts", default="upstream,clients")
    p.add_argument("--long", type=int, default=0, help="requests for the RSS check (e.g. 1000000)")
    a = p.parse_args()
    run = Run(a)
    try:
        run.setup()
        parts = a.parts.split(",")
        out = [f"tls_paths.py, wrk -t1, {a.rounds} rounds x {a.seconds} s, medians; llmux --threads 1, "
               f"nginx one worker; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"]
        if "upstream" in parts:
            res = {}
            for conns in [int(c) for c in a.connections.split(",")]:
                for case in CASES:
                    res[(case, conns)] = run.rounds(["nginx", "llmux", "llmux-h2"], case, conns)
            out.append(table("Cleartext clients, TLS upstream (HTTP/1.1 pool vs HTTP/2):", res))
        if "clients" in parts:
            res = {(case, 32): run.rounds(["nginx-https", "llmux-https"], case, 32) for case in CASES}
            out.append(table("Clients over TLS, TLS upstream:", res))
        if a.long:
            samples = run.long_run(a.long)
            out.append("\nRSS of llmux over the TLS upstream (requests → MB): " +
                       ", ".join(f"{n:,} → {mb:.1f}" for n, mb in samples))
        print("\n".join(out))
        return 0
    except BenchError as e:
        print(f"tls_paths: {e}", file=sys.stderr)
        for s in run.services:
            print(f"--- {s.name}: {s.tail(400)}", file=sys.stderr)
        return 1
    finally:
        for s in run.services:
            s.stop()


if __name__ == "__main__":
    sys.exit(main())
