"""Fan-out benchmark: one fault notice to N customers, rate cap off, SMS to the local outbox.

Measures, on an embedded Redis in a temporary folder:
- the enqueue step alone: resolving the audience and handing every batch to arq;
- the hand-over: one in-process worker draining the batches into the provider (the outbox);
and runs redis-benchmark (Debian package redis-tools) against the same server in the same run,
so the figures can be read as a ratio of what this Redis does for plain commands.

    .venv/bin/python -m bench.fanout [--recipients 100000] [--enqueue-only 1000000]

With `--twilio` the hand-over goes over HTTP through the twilio SDK to a local stub of Twilio's
API (bench/twilio_stub.py), and the same run measures the two floors under it at the same
concurrency: plain aiohttp POSTs to the stub, and the SDK's create_async alone (no Redis).
"""

import argparse
import asyncio
import base64
import contextlib
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from arq.connections import RedisSettings, create_pool
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bench.channels import drain as drain_queue
from bench.service import wait_until_answering
from publishers.sms import sms_channel
from schemas.clock import clock_in
from schemas.kinds import OutageKind, Role
from schemas.notices import notice_of
from schemas.outage import OutageSubmission, Scope
from schemas.settings import Settings
from services.customers import import_customers
from services.delivery import Fanout
from services.demo_customers import NETWORK, synthetic_customers
from services.outages import OutageService
from store.api_keys import ApiKeyStore
from store.embedded import EmbeddedRedis, free_port
from store.ledger import DeliveryLedger


def redis_benchmark(port: int, password: str) -> dict[str, float]:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-a", password, "-q", "-n", "200000",
         "-c", "50", "-t", "set,sadd,lpush"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {m[0]: float(m[1]) for m in re.findall(r"^(\w+): ([\d.]+) requests per second", out, re.MULTILINE)}


SID, TOKEN, FROM = "AC" + "0" * 32, "bench-token", "+15005550006"
# In flight at once: the burst worker's sends (bench.channels.drain) and each floor's.
CONCURRENCY = 50


async def _at_once(count: int, send: Callable[[int], Awaitable[object]]) -> float:
    """Requests per second of `count` sends, CONCURRENCY in flight."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(n: int) -> None:
        async with gate:
            await send(n)

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return count / (time.perf_counter() - started)


async def http_floors(base: str, count: int) -> tuple[float, float]:
    """(plain aiohttp POSTs/s, the SDK's creates/s) against the stub, same concurrency."""
    url = f"{base}/2010-04-01/Accounts/{SID}/Messages.json"
    form = {"To": "+8613800000000", "From": FROM, "Body": "【国家电网】" + "停电通知" * 20}
    authorization = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    async with aiohttp.ClientSession(headers={"Authorization": authorization}) as session:

        async def post(_: int) -> None:
            async with session.post(url, data=form) as response:
                await response.read()

        plain = await _at_once(count, post)
    http = AsyncTwilioHttpClient()
    client = Client(SID, TOKEN, http_client=http)
    client.api.base_url = base

    async def create(_: int) -> None:
        await client.messages.create_async(to=form["To"], from_=FROM, body=form["Body"])

    sdk = await _at_once(count, create)
    await http.close()
    return plain, sdk


@contextlib.contextmanager
def twilio_stub() -> Iterator[str]:
    port = free_port()
    stub = subprocess.Popen([sys.executable, "-m", "bench.twilio_stub", str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(f"{base}/count", 10)
        yield base
    finally:
        stub.terminate()
        stub.wait(10)


async def run(recipients: int, enqueue_only: int, twilio: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis(Path(folder) / "redis") as server:
        provider: dict[str, Any] = {}
        if twilio:
            provider = dict(
                twilio_account_sid=SID, twilio_auth_token=TOKEN, twilio_from=FROM, twilio_api_base=twilio
            )
        settings = Settings(
            redis_url=server.url, data_dir=Path(folder), outbox_max=100_000, queue_name="bench", **provider
        )
        redis = await create_pool(RedisSettings.from_dsn(server.url))
        clock = clock_in(settings.zone)
        service = OutageService(settings, redis, clock)
        keys = ApiKeyStore(redis)
        results = []
        for count, drain in ((recipients, True), (enqueue_only, False)):
            if not count:
                continue
            await redis.flushdb()
            submitter, _ = await keys.create(
                name="s", centre="c", region="310115", roles=frozenset({Role.SUBMITTER}), now=clock()
            )
            reviewer, _ = await keys.create(
                name="r", centre="c", region="310115", roles=frozenset({Role.REVIEWER}), now=clock()
            )
            started = time.perf_counter()
            await import_customers(redis, synthetic_customers(count))
            imported = time.perf_counter() - started
            now = clock()
            outage, _ = await service.submit(
                OutageSubmission(
                    external_id=f"BENCH-{count}", kind=OutageKind.FAULT, title="Substation trip", reason="Typhoon",
                    region="310115", area_description="Everything", scope=Scope(feeders=[f for f, _ in NETWORK]),
                    starts_at=now - timedelta(minutes=30), fault_located_at=now - timedelta(minutes=5),
                ),
                submitter,
            )  # fmt: skip
            outage = await service.approve_current(outage.id, reviewer)
            await redis.delete("bench")  # the publish job: run by hand below, timed alone
            notice = notice_of(outage, "new")
            started = time.perf_counter()
            await Fanout(redis, settings, clock, sms_channel(settings, redis, clock)).publish(notice)
            enqueue = time.perf_counter() - started
            batches = await redis.zcard("bench")
            drained = None
            if drain:
                drained = await drain_queue(settings, clock, redis)
            counts = await DeliveryLedger(redis, "sms").counts(outage.id, "new")
            results.append((count, imported, enqueue, batches, drained, counts))
        baseline = redis_benchmark(server.port, server.password)
        await redis.aclose()
    floors = await http_floors(twilio, min(recipients, 20_000)) if twilio else None
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        "redis-benchmark, same server, 50 clients: "
        + ", ".join(f"{k} {v:,.0f}/s" for k, v in baseline.items())
    )
    for count, imported, enqueue, batches, drained, counts in results:
        print(f"{count:,} recipients (import {imported:.1f} s), {batches} batch jobs")
        print(f"  enqueue step alone   {enqueue:7.2f} s  {count / enqueue:10,.0f} recipients/s  "
              f"{count / enqueue / baseline['SET']:.2f}x redis SET/s")  # fmt: skip
        if drained is not None:
            handed = counts.get("accepted", 0)
            print(f"  handed to provider   {drained:7.2f} s  {handed / drained:10,.0f} recipients/s  "
                  f"{handed / drained / baseline['SET']:.2f}x redis SET/s  ({handed:,} accepted, "
                  f"{counts.get('opted_out', 0):,} opted out)")  # fmt: skip
            if floors is not None:
                plain, sdk = floors
                rate = handed / drained
                print(f"  over HTTP to the Twilio stub, {CONCURRENCY} in flight: plain aiohttp POSTs {plain:,.0f}/s, "
                      f"the SDK's create_async alone {sdk:,.0f}/s; the hand-over at {rate / plain:.2f}x of "
                      f"the plain POSTs, {rate / sdk:.2f}x of the SDK alone; the SDK costs "
                      f"{(1 / sdk - 1 / plain) * 1e6:,.0f} µs per request over plain aiohttp")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--enqueue-only", type=int, default=1_000_000)
    parser.add_argument(
        "--twilio", action="store_true", help="hand over through the SDK to a local Twilio stub"
    )
    args = parser.parse_args()
    if args.twilio:
        with twilio_stub() as base:
            asyncio.run(run(args.recipients, args.enqueue_only, base))
    else:
        asyncio.run(run(args.recipients, args.enqueue_only))
