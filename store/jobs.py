"""Short leases on running arq jobs, so a dead worker's jobs are taken up in seconds.

arq marks a running job with one "in progress" key that lives for the longest job timeout plus
10 s (130 s by default): a worker killed mid-fan-out would hold its batches that long. A running
job keeps its key alive for `seconds` at a time instead, renewed while it runs; when the worker
dies the key lapses within `seconds` and any worker starts the job again.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from store import keys


@contextlib.asynccontextmanager
async def job_lease(redis: Redis, job_id: str, seconds: float) -> AsyncIterator[None]:
    key = keys.job_in_progress(job_id)
    milliseconds = int(seconds * 1000)
    await redis.pexpire(key, milliseconds)

    async def renew() -> None:
        while True:
            await asyncio.sleep(seconds / 3)
            # A renewal that fails (Redis briefly away) is tried again at the next tick.
            with contextlib.suppress(RedisError, OSError):
                await redis.pexpire(key, milliseconds)

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
