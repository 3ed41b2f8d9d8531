"""Who asked a channel for no more notices, by address (a phone for SMS, an address for email)."""

from collections.abc import Sequence

from redis.asyncio import Redis

from store import keys


class OptOuts:
    def __init__(self, redis: Redis, channel: str) -> None:
        self.redis = redis
        self.key = keys.opted_out(channel)

    async def opted_out(self, addresses: Sequence[str]) -> list[bool]:
        if not addresses:
            return []
        flags = await self.redis.smismember(self.key, list(addresses))
        return [bool(f) for f in flags]

    async def set_opted_out(self, address: str, opted_out: bool) -> None:
        if opted_out:
            await self.redis.sadd(self.key, address)
        else:
            await self.redis.srem(self.key, address)
