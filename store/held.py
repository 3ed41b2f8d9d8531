"""SMS batches held for quiet hours, by release time."""

from datetime import UTC, datetime

import msgspec
from redis.asyncio import Redis

from store import keys


class HeldBatch(msgspec.Struct):
    outage_id: str
    notice_id: str
    accounts: list[str]


_held_decoder = msgspec.msgpack.Decoder(HeldBatch)


class HeldBatches:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def hold(self, batch_id: str, batch: HeldBatch, release_at: datetime) -> bool:
        """Keep a batch until `release_at`; False if it is held already."""
        added = await self.redis.zadd(keys.sms_held(), {batch_id: release_at.timestamp()}, nx=True)
        if not added:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.sms_held_batches(), batch_id, msgspec.msgpack.encode(batch))  # type: ignore[arg-type]
            pipe.hincrby(keys.sms_counts(batch.outage_id, batch.notice_id), "held", len(batch.accounts))
            await pipe.execute()
        return True

    async def held_until(self, outage_id: str, notice_id: str) -> datetime | None:
        """When the held batches of a notice go, if any are still held."""
        score = await self.redis.zscore(keys.sms_held(), f"{outage_id}:{notice_id}:0")
        return None if score is None else datetime.fromtimestamp(score, UTC)

    async def held_summary(self) -> tuple[int, datetime | None]:
        """How many recipients wait in held batches, and when the first of them go."""
        first = await self.redis.zrange(keys.sms_held(), 0, 0, withscores=True)
        if not first:
            return 0, None
        raws = await self.redis.hvals(keys.sms_held_batches())
        waiting = sum(len(_held_decoder.decode(r).accounts) for r in raws)
        return waiting, datetime.fromtimestamp(first[0][1], UTC)

    async def due_batches(self, now: datetime) -> list[tuple[str, HeldBatch]]:
        # In release order: a change held behind its original is scored after it.
        ids = [i.decode() for i in await self.redis.zrangebyscore(keys.sms_held(), "-inf", now.timestamp())]
        if not ids:
            return []
        raws = await self.redis.hmget(keys.sms_held_batches(), ids)
        return [(i, _held_decoder.decode(r)) for i, r in zip(ids, raws, strict=True) if r is not None]

    async def unhold(self, batch_id: str, batch: HeldBatch) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.sms_held(), batch_id)
            pipe.hdel(keys.sms_held_batches(), batch_id)
            pipe.hincrby(keys.sms_counts(batch.outage_id, batch.notice_id), "held", -len(batch.accounts))
            await pipe.execute()
