"""What REDIS_MIN_REPLICAS=1 costs: submissions and delivery-ledger claims with and without
waiting for the replica, against the same primary and replica (bench/topology.py), AOF `always`.

    .venv/bin/python -m bench.replication_cost [--count 2000] [--concurrency 50]

Each figure is the service's own code path (OutageService.submit; DeliveryLedger.claim_one as
the delivery engine calls it), `--concurrency` at a time; the baseline is the same path with
REDIS_MIN_REPLICAS=0 in the same run.
"""

import argparse
import asyncio
import os
import platform
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from bench.topology import MASTER_NAME, Topology
from schemas.clock import Clock
from schemas.kinds import Role
from schemas.outage import OutageSubmission
from schemas.settings import Settings
from services.outages import OutageService
from store.api_keys import ApiKeyStore
from store.connection import connect_sentinel
from store.ledger import DeliveryLedger


async def rate(count: int, concurrency: int, action: Callable[[int], Awaitable[object]]) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            await action(n)

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return count / (time.perf_counter() - started)


async def main(count: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        topology = Topology(Path(folder), replicas=1).start()
        try:
            redis = connect_sentinel(
                topology.sentinel_addresses, MASTER_NAME, 5.0,
                password=topology.password, sentinel_password=topology.sentinel_password,
            )  # fmt: skip
            now = datetime.now(UTC)
            clock: Clock = lambda: now  # noqa: E731
            key, _ = await ApiKeyStore(redis).create(
                name="bench", centre="bench", region="310115", roles=frozenset({Role.SUBMITTER}), now=now
            )

            def body(n: int, run: str) -> OutageSubmission:
                starts = now + timedelta(days=8)
                return msgspec.convert(
                    {
                        "external_id": f"{run}-{n}", "kind": "planned", "title": "bench", "reason": "bench",
                        "region": "310115", "area_description": "bench", "scope": {"feeders": [f"F{n % 50}"]},
                        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=4)).isoformat(),
                    },
                    OutageSubmission,
                )  # fmt: skip

            figures: dict[str, dict[int, float]] = {"submissions": {}, "ledger claims": {}}
            # Alternating, twice each, so a drift of the machine falls on both.
            for run, replicas in enumerate((0, 1, 0, 1)):
                service = OutageService(Settings(redis_min_replicas=replicas), redis, clock)
                submitted = await rate(count, concurrency, lambda n: service.submit(body(n, f"r{run}"), key))  # noqa: B023
                ledger = DeliveryLedger(redis, "sms", replicas=replicas, replica_timeout_ms=1000)
                claimed = await rate(
                    count * 5,
                    concurrency,
                    lambda n: ledger.claim_one(f"OUT-{run}", "new", f"A{n}", "run", now),  # noqa: B023,
                )
                for name, value in (("submissions", submitted), ("ledger claims", claimed)):
                    figures[name][replicas] = max(figures[name].get(replicas, 0.0), value)
            await redis.aclose()
        finally:
            topology.stop()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{concurrency} at a time, primary + 1 replica on this machine, AOF always; best of two runs")
    for name, by in figures.items():
        print(
            f"{name:<14} REDIS_MIN_REPLICAS=0 (baseline) {by[0]:8,.0f}/s   =1 {by[1]:8,.0f}/s   "
            f"ratio {by[1] / by[0]:.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.count, arguments.concurrency))
