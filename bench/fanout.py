"""Fan-out benchmark: one fault notice to N customers, rate cap off, SMS to the local outbox.

Measures, on an embedded Redis in a temporary folder:
- the enqueue step alone: resolving the audience and handing every batch to arq;
- the hand-over: one in-process worker draining the batches into the provider (the outbox);
and runs redis-benchmark (Debian package redis-tools) against the same server in the same run,
so the figures can be read as a ratio of what this Redis does for plain commands.

    .venv/bin/python -m bench.fanout [--recipients 100000] [--enqueue-only 1000000]
"""

import argparse
import asyncio
import os
import platform
import re
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from arq.connections import RedisSettings, create_pool

from bench.channels import drain as drain_queue
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
from store.embedded import EmbeddedRedis
from store.ledger import DeliveryLedger


def redis_benchmark(port: int, password: str) -> dict[str, float]:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-a", password, "-q", "-n", "200000",
         "-c", "50", "-t", "set,sadd,lpush"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {m[0]: float(m[1]) for m in re.findall(r"^(\w+): ([\d.]+) requests per second", out, re.MULTILINE)}


async def run(recipients: int, enqueue_only: int) -> None:
    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis(Path(folder) / "redis") as server:
        settings = Settings(
            redis_url=server.url, data_dir=Path(folder), outbox_max=100_000, queue_name="bench"
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--enqueue-only", type=int, default=1_000_000)
    args = parser.parse_args()
    asyncio.run(run(args.recipients, args.enqueue_only))
