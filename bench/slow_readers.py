#!/usr/bin/env python3
"""Memory under clients that stop reading (issue 10 item 3).

Starts the fake provider and llmux (write_timeout 2s), opens N clients that each ask for a large
stream and never read it, and reports llmux's RSS: at start, while the clients hang, after the
write timeout has cut them, and after the clients closed. Usage:
  bench/slow_readers.py [--build build] [--clients 100] [--stream-mb 8]
"""
import argparse, json, os, socket, subprocess, sys, tempfile, time


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start(argv, env=None):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    for line in p.stdout:
        if line.startswith("listening on"):
            return p, int(line.strip().rsplit(":", 1)[1])
    raise SystemExit(f"{argv[0]} did not start")


def metric(port, name):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--stream-mb", type=int, default=8)
    a = ap.parse_args()
    fake, fake_port = start([f"{a.build}/llmux-fake-provider", "--port", "0"])
    cfg = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    cfg.write(f"server: {{write_timeout: 2s, idle_timeout: 60s}}\nproviders:\n  fake:\n"
              f"    base_url: http://127.0.0.1:{fake_port}/v1\n    models: [fake-model]\n")
    cfg.close()
    env = dict(os.environ, XDG_CONFIG_HOME=tempfile.mkdtemp(), XDG_STATE_HOME=tempfile.mkdtemp())
    gw, port = start([f"{a.build}/llmux", "serve", "--config", cfg.name, "--port", "0", "--threads", "1"], env)
    try:
        time.sleep(0.3)
        base = rss_mb(gw.pid)
        # A small request for a large answer: each chunk event is about 160 bytes of JSON.
        chunks = a.stream_mb * 1024 * 1024 // 160
        body = json.dumps({"model": "fake-model", "stream": True, "messages": [{"role": "user", "content": "x"}],
                           "fake": {"chunks": chunks, "content": "ab " * chunks}}).encode()
        req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        clients = []
        for _ in range(a.clients):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(req)
            clients.append(s)
        peak = base
        deadline = time.time() + 30
        cut = False
        while time.time() < deadline:
            peak = max(peak, rss_mb(gw.pid))
            if metric(port, "llmux_client_connections") <= 1:
                cut = True
                break
            time.sleep(0.2)
        after_cut = rss_mb(gw.pid)
        time.sleep(1.5)  # one sweep (malloc_trim) after the cut
        trimmed = rss_mb(gw.pid)
        for s in clients:
            s.close()
        time.sleep(0.5)
        closed = rss_mb(gw.pid)
        print(f"clients={a.clients} stream={a.stream_mb}MB baseline={base:.1f}MB peak={peak:.1f}MB "
              f"cut_by_write_timeout={cut} after_cut={after_cut:.1f}MB after_trim={trimmed:.1f}MB "
              f"after_close={closed:.1f}MB")
    finally:
        gw.terminate()
        fake.terminate()
        gw.wait()
        fake.wait()


if __name__ == "__main__":
    main()
