"""Counters for /metrics, kept in Redis so every API and worker process adds to the same totals."""

from collections.abc import Iterable

from redis.asyncio import Redis

from store import keys


class Stats:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def add(self, name: str, field: str, amount: float = 1) -> None:
        await self.redis.hincrbyfloat(keys.stats(name), field, amount)

    async def read(self, name: str) -> dict[str, float]:
        raw = await self.redis.hgetall(keys.stats(name))
        return {k.decode(): float(v) for k, v in raw.items()}

    async def queue_depth(self, queue_name: str) -> int:
        return int(await self.redis.zcard(queue_name))

    async def held_batches(self) -> int:
        return int(await self.redis.zcard(keys.held()))

    async def worker_seen(self, queue_name: str) -> bool:
        return bool(await self.redis.exists(keys.worker_heartbeat(queue_name)))

    async def regions(self) -> Iterable[str]:
        """Every region with outage records: one set read, whatever the number of keys."""
        if not await self.redis.exists(keys.regions_indexed()):
            # Records stored before the set existed: found once by a scan, then kept in the set.
            scanned = [k.decode() async for k in self.redis.scan_iter(match=keys.all_region_outages())]
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in scanned:
                    pipe.sadd(keys.regions(), key.split(":")[2])
                pipe.set(keys.regions_indexed(), 1)
                await pipe.execute()
        return sorted(r.decode() for r in await self.redis.smembers(keys.regions()))
