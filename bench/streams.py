#!/usr/bin/env python3
"""Opens N concurrent SSE streams to a gateway on loopback and keeps them open.

Used by bench.py for the "open streams" case: the upstream is asked for a slow stream (many chunks,
a long chunk interval), so every stream stays open while the driver measures the gateway's RSS and
CPU. Talks a line protocol on stdin/stdout:

  started:  prints  "open OK FAILED SECONDS"  once every stream got its first event (or failed)
  stdin "count"  ->  "count EVENTS LIVE"  (events received so far, streams still open)
  stdin "close"  ->  closes every stream, prints "closed", exits

  streams.py --port P --count N --body-file F [--host 127.0.0.1] [--batch 200] [--open-timeout 120]
"""
import argparse
import asyncio
import sys
import time


class Stream(asyncio.Protocol):
    def __init__(self, request: bytes, shared: "Shared"):
        self.request = request
        self.shared = shared
        self.transport = None
        self.head = b""
        self.in_body = False
        self.status = 0
        self.got_event = asyncio.get_running_loop().create_future()
        self.tail = b""
        self.live = False

    def connection_made(self, transport):
        self.transport = transport
        self.live = True
        transport.write(self.request)

    def data_received(self, data: bytes):
        if not self.in_body:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            line = self.head.split(b"\r\n", 1)[0].split()
            self.status = int(line[1]) if len(line) > 1 and line[1].isdigit() else 0
            data = self.head[end + 4:]
            self.head = b""
            self.in_body = True
            if self.status != 200:
                self._fail(f"HTTP {self.status}")
                return
        # Count SSE events by their "data:" fields; keep a short tail for fields split across reads.
        chunk = self.tail + data
        n = chunk.count(b"data:")
        self.tail = chunk[-4:]
        if n:
            self.shared.events += n
            if not self.got_event.done():
                self.got_event.set_result(True)

    def _fail(self, why: str):
        if not self.got_event.done():
            self.got_event.set_exception(RuntimeError(why))
        if self.transport:
            self.transport.close()

    def connection_lost(self, exc):
        if self.live:
            self.live = False
            self.shared.ended += 1
        if not self.got_event.done():
            self.got_event.set_exception(RuntimeError(f"closed before the first event: {exc}"))


class Shared:
    events = 0
    ended = 0


async def open_one(loop, args, request, shared, streams, errors):
    try:
        _, proto = await loop.create_connection(lambda: Stream(request, shared), args.host, args.port)
        streams.append(proto)
        await asyncio.wait_for(proto.got_event, args.open_timeout)
    except Exception as e:  # noqa: BLE001 - any failure of one stream is counted and reported
        errors.append(str(e) or type(e).__name__)


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--body-file", required=True)
    p.add_argument("--path", default="/v1/chat/completions")
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--open-timeout", type=float, default=120)
    args = p.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("streams.py only talks to loopback", file=sys.stderr)
        return 2

    body = open(args.body_file, "rb").read()
    head = (f"POST {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
            f"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"Content-Length: {len(body)}\r\n")
    for h in args.header:
        head += h + "\r\n"
    request = (head + "\r\n").encode() + body

    loop = asyncio.get_running_loop()
    shared = Shared()
    streams: list[Stream] = []
    errors: list[str] = []
    t0 = time.monotonic()
    pending = set()
    for _ in range(args.count):
        pending.add(asyncio.ensure_future(open_one(loop, args, request, shared, streams, errors)))
        # Keep at most `batch` connects in flight, so the listen backlog never overflows.
        while len([t for t in pending if not t.done()]) >= args.batch:
            await asyncio.sleep(0.005)
        pending = {t for t in pending if not t.done()}
    if pending:
        await asyncio.gather(*pending)
    opened = args.count - len(errors)
    print(f"open {opened} {len(errors)} {time.monotonic() - t0:.2f}", flush=True)
    if errors:
        print(f"first error: {errors[0]}", file=sys.stderr, flush=True)

    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "count":
            live = sum(1 for s in streams if s.live)
            print(f"count {shared.events} {live}", flush=True)
        elif line in ("close", ""):
            for s in streams:
                if s.transport:
                    s.transport.close()
            await asyncio.sleep(0.2)
            print("closed", flush=True)
            return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
