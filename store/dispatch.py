"""Which published notices have been handed to which channel.

The approval writes the notice into the pending set in the same transaction as the record, so a
notice whose publish job was lost (API crash after commit, queue flushed) is found and re-sent.
"""

from datetime import datetime

from redis.asyncio import Redis

from store import keys


class DispatchLedger:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def channels_done(self, outage_id: str, notice_id: str) -> set[str]:
        done = await self.redis.hkeys(keys.dispatch_done(outage_id, notice_id))
        return {c.decode() for c in done}

    async def channel_done(self, outage_id: str, notice_id: str, channel: str, at: datetime) -> None:
        await self.redis.hset(keys.dispatch_done(outage_id, notice_id), channel, at.isoformat())

    async def handed_over(self, outage_id: str, notice_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(keys.dispatch_done(outage_id, notice_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def complete(self, outage_id: str, notice_id: str) -> None:
        await self.redis.zrem(keys.dispatch_pending(), f"{outage_id}/{notice_id}")

    async def pending(self, published_before: datetime) -> list[tuple[str, str]]:
        members = await self.redis.zrangebyscore(
            keys.dispatch_pending(), "-inf", published_before.timestamp()
        )
        pairs = [m.decode().partition("/") for m in members]
        return [(outage_id, notice_id) for outage_id, _, notice_id in pairs]
