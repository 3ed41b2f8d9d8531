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

    ended = asyncio.Event()

    async def renew() -> None:
        # Also told by the flag: on Python 3.11 a Redis command can swallow the cancel
        # (tests/test_shutdown.py), and the loop would renew a finished job's lease for ever.
        while not ended.is_set():
            await asyncio.sleep(seconds / 3)
            # A renewal that fails (Redis briefly away) is tried again at the next tick.
            with contextlib.suppress(RedisError, OSError):
                await redis.pexpire(key, milliseconds)

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        ended.set()
        renewing.cancel()
        # asyncio.wait, not `await renewing` under suppress(CancelledError): that would also
        # swallow a cancel of this job itself.
        await asyncio.wait({renewing})
