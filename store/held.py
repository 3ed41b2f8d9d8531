"""Batches of any channel held for quiet hours, by release time."""

from datetime import UTC, datetime

import msgspec
from redis.asyncio import Redis

from store import keys


class HeldBatch(msgspec.Struct):
    channel: str
    outage_id: str
    notice_id: str
    accounts: list[str]


_held_decoder = msgspec.msgpack.Decoder(HeldBatch)


class HeldBatches:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def hold(self, batch_id: str, batch: HeldBatch, release_at: datetime) -> bool:
        """Keep a batch until `release_at`; False if it is held already."""
        added = await self.redis.zadd(keys.held(), {batch_id: release_at.timestamp()}, nx=True)
        if not added:
            return False
        counts = keys.delivery_counts(batch.channel, batch.outage_id, batch.notice_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.held_batches(), batch_id, msgspec.msgpack.encode(batch))  # type: ignore[arg-type]
            pipe.hincrby(counts, "held", len(batch.accounts))
            await pipe.execute()
        return True

    async def held_until(self, first_batch_id: str) -> datetime | None:
        """When the held batches of a notice go (found by the id of its first), if still held."""
        score = await self.redis.zscore(keys.held(), first_batch_id)
        return None if score is None else datetime.fromtimestamp(score, UTC)

    async def held_summary(self) -> tuple[int, datetime | None]:
        """How many recipients wait in held batches, and when the first of them go."""
        first = await self.redis.zrange(keys.held(), 0, 0, withscores=True)
        if not first:
            return 0, None
        raws = await self.redis.hvals(keys.held_batches())
        waiting = sum(len(_held_decoder.decode(r).accounts) for r in raws)
        return waiting, datetime.fromtimestamp(first[0][1], UTC)

    async def due_batches(self, now: datetime) -> list[tuple[str, HeldBatch]]:
        # In release order: a change held behind its original is scored after it.
        ids = [i.decode() for i in await self.redis.zrangebyscore(keys.held(), "-inf", now.timestamp())]
        if not ids:
            return []
        raws = await self.redis.hmget(keys.held_batches(), ids)
        return [(i, _held_decoder.decode(r)) for i, r in zip(ids, raws, strict=True) if r is not None]

    async def unhold(self, batch_id: str, batch: HeldBatch) -> None:
        counts = keys.delivery_counts(batch.channel, batch.outage_id, batch.notice_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.held(), batch_id)
            pipe.hdel(keys.held_batches(), batch_id)
            pipe.hincrby(counts, "held", -len(batch.accounts))
            await pipe.execute()
