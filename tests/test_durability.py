"""SIGKILL the Redis server during a burst of submissions: every 201 survives the restart.

The embedded server runs `appendfsync always`: Redis writes and fsyncs the AOF before it sends
the replies of that event-loop turn. `everysec` is not enough even for a killed process: while a
background fsync is slow, Redis 6.2 postpones the AOF write by up to two seconds but still replies,
so acknowledged records die with the process (CI caught it; an LD_PRELOAD shim that makes fsync
take 1.5 s reproduces it in two runs out of three).
"""

import asyncio
import os
import signal
from pathlib import Path

from arq.connections import ArqRedis

from schemas.kinds import Role
from schemas.settings import Settings
from store.api_keys import ApiKeyStore
from store.embedded import EmbeddedRedis
from store.outages import OutageStore
from tests.asgi import app_client
from tests.bodies import outage_body
from tests.conftest import FakeClock


async def test_every_acknowledged_submission_survives_a_killed_redis(
    tmp_path: Path, clock: FakeClock
) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    redis = ArqRedis.from_url(server.url)
    try:
        _, secret = await ApiKeyStore(redis).create(
            name="s", centre="c", region="310115", roles=frozenset({Role.SUBMITTER}), now=clock()
        )
        settings = Settings(redis_url=server.url, data_dir=tmp_path)
        headers = {"Authorization": f"Bearer {secret}"}
        acknowledged: list[str] = []
        statuses: list[int] = []
        mid_burst = asyncio.Event()

        async with app_client(settings, redis, clock) as client:

            async def submit(n: int) -> None:
                body = outage_body(clock(), external_id=f"BURST-{n}")
                response = await client.post("/api/v1/outages", json=body, headers=headers)
                statuses.append(response.status_code)
                if len(statuses) >= 150:
                    mid_burst.set()
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])

            tasks = [asyncio.create_task(submit(n)) for n in range(400)]
            await mid_burst.wait()
            assert server.pid is not None
            os.kill(server.pid, signal.SIGKILL)
            await asyncio.gather(*tasks)
        server.stop()
        assert 150 <= len(acknowledged) < 400, "the kill must land in the middle of the burst"
        assert set(statuses) <= {201, 503}, "a dead store is a 503, never a 500"

        restarted = EmbeddedRedis(tmp_path / "redis", port=server.port)
        restarted.start()
        try:
            store = OutageStore(redis)
            for outage_id in acknowledged:
                assert (await store.get(outage_id)).external_id.startswith("BURST-")
        finally:
            restarted.stop()
    finally:
        await redis.aclose()
        server.stop()
