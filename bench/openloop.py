"""An open-loop load generator: requests start at a constant rate whether or not earlier ones have
answered, and each latency is measured from the moment the request was due, not from when a free
connection sent it. A closed loop (wrk: N connections, each waiting for its answer) slows down
with the server and so hides the queueing a caller meets; this does not.

HTTP/1.1 with keep-alive over asyncio streams: an answered connection is reused, a request due
while every connection is busy opens a new one (the open loop's promise). Bodies are read by
Content-Length, which is what the service's routes send.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class OpenLoopResult:
    rate: float
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    connections: int = 0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def line(self, name: str) -> str:
        done = len(self.latencies_ms)
        bad = sum(n for status, n in self.statuses.items() if status >= 400) + self.errors
        return (
            f"{name:<46} {self.rate:6.0f}/s offered for {self.seconds:.0f} s: {done} answered, "
            f"p50 {self.percentile(0.50):7.1f} ms  p99 {self.percentile(0.99):7.1f} ms  "
            f"max {max(self.latencies_ms, default=float('nan')):7.1f} ms, {bad} errors, "
            f"{self.connections} connections"
        )


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed before the answer")
    status = int(status_line.split()[1])
    length = 0
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def open_loop(
    host: str, port: int, request: Callable[[int], bytes], rate: float, seconds: float
) -> OpenLoopResult:
    """`request(n)` is the n-th request's bytes (with `Connection: keep-alive`)."""
    result = OpenLoopResult(rate=rate, seconds=seconds)
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened: list[asyncio.StreamWriter] = []
    loop = asyncio.get_running_loop()

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(host, port)
        opened.append(writer)
        result.connections += 1
        return reader, writer

    async def one(n: int, due: float) -> None:
        try:
            reused = bool(idle)
            reader, writer = idle.pop() if idle else await connect()
            try:
                writer.write(request(n))
                status = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                if not reused:
                    raise
                # The server closed an idle keep-alive connection (uvicorn's timeout): a client
                # sends again on a new one, as HTTP allows for a request nothing was read for.
                reader, writer = await connect()
                writer.write(request(n))
                status = await _read_response(reader)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            result.errors += 1
            return
        result.latencies_ms.append((loop.time() - due) * 1000)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        idle.append((reader, writer))

    total = int(rate * seconds)
    start = loop.time() + 0.05
    tasks = []
    for n in range(total):
        due = start + n / rate
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    for writer in opened:
        writer.close()
    await asyncio.gather(*(w.wait_closed() for w in opened), return_exceptions=True)
    return result


def get(host: str, path: str) -> Callable[[int], bytes]:
    raw = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
    return lambda n: raw


def post_form(host: str, path: str, body: str, headers: dict[str, str]) -> Callable[[int], bytes]:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    encoded = body.encode()
    raw = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(encoded)}\r\n{extra}\r\n"
    ).encode() + encoded
    return lambda n: raw


def measure(
    host: str, port: int, request: Callable[[int], bytes], rate: float, seconds: float
) -> OpenLoopResult:
    return asyncio.run(open_loop(host, port, request, rate, seconds))
