"""The in-process benchmarks at a tiny size, so they never rot (their figures are not tested)."""

import os

import pytest

from bench.channels import run as channels


async def test_channels_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    await channels(200)
    printed = capsys.readouterr().out
    assert "SMS only (baseline)" in printed and "of which SMS" in printed


async def test_registry_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.registry import main as registry

    await registry(3_000)
    printed = capsys.readouterr().out
    assert "bytes per customer" in printed and "resolved in" in printed


async def test_replication_cost_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.replication_cost import main as replication_cost

    await replication_cost(50, 10)
    printed = capsys.readouterr().out
    assert "submissions" in printed and "ledger claims" in printed and "ratio" in printed


async def test_the_open_loop_generator_counts_queueing_from_the_due_time() -> None:
    """A server that answers one request at a time, 20 ms each (50/s), offered 100/s for a
    second: a closed loop would report 20 ms; the open loop reports the queue callers meet."""
    import asyncio

    from bench.openloop import get, open_loop

    one_at_a_time = asyncio.Lock()
    handlers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(writer)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                async with one_at_a_time:
                    await asyncio.sleep(0.02)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        slow = await open_loop("127.0.0.1", port, get("x", "/"), rate=100, seconds=1)
        easy = await open_loop("127.0.0.1", port, get("x", "/"), rate=20, seconds=1)
    finally:
        server.close()
        for writer in handlers:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in handlers), return_exceptions=True)
        await server.wait_closed()
    assert len(slow.latencies_ms) == 100 and slow.statuses == {200: 100}
    assert slow.percentile(0.99) > 500, slow.line("serial server at twice its capacity")
    assert easy.percentile(0.99) < 200, easy.line("serial server under its capacity")


# The benchmarks that load a running service with wrk (Debian `wrk`) and compare with
# redis-benchmark (Debian `redis-tools`): `make test` installs both where it may (root, apt), as
# it does chromium; elsewhere these are skipped, saying so.
TOOLS = ("wrk", "redis-benchmark")
SMOKE_RUNS = {
    "public_web": (["--outages", "3", "--seconds", "1", "--rate", "50"], ["public JSON at", "open loop"]),
    "ivr": (
        ["--customers", "300", "--seconds", "1", "--rate", "30", "--connections", "10"],
        ["IVR", "/health"],
    ),
    "ingest": (["--seconds", "1", "--connections", "5"], ["/health", "approve"]),
    "reports": (
        ["--areas", "5", "--per-area", "3", "--seconds", "1", "--connections", "5"],
        ["POST /api/v1/reports", "suspected outages"],
    ),
    "import_customers": (["--rows", "2000"], ["same file again"]),
    "fanout": (
        ["--recipients", "300", "--enqueue-only", "600"],
        ["enqueue step alone", "handed to provider"],
    ),
    "fanout --twilio": (
        ["--twilio", "--recipients", "300", "--enqueue-only", "0"],
        ["over HTTP to the Twilio stub", "the SDK costs"],
    ),
}


@pytest.mark.parametrize("name", SMOKE_RUNS)
def test_the_service_benchmarks_run_at_a_tiny_size(name: str) -> None:
    import shutil
    import subprocess
    import sys

    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing and os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(f"{missing} missing where `make test` should have installed them")
    if missing:
        pytest.skip(f"{missing} not installed (Debian packages wrk, redis-tools)")
    module = name.split()[0]
    arguments, expected = SMOKE_RUNS[name]
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *arguments], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for words in expected:
        assert words in done.stdout, done.stdout[-3000:]
