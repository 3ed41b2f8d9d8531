"""Calls' confirmations and the important customers whose calls went unconfirmed."""

from collections import defaultdict
from datetime import datetime

from redis.asyncio import Redis

from store import keys


class VoiceStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def confirmed(self, outage_id: str, notice_id: str, entry: str, at: datetime) -> None:
        await self.redis.hsetnx(keys.voice_confirmed(outage_id, notice_id), entry, str(int(at.timestamp())))

    async def confirmations(self, outage_id: str, notice_id: str) -> dict[str, int]:
        raw = await self.redis.hgetall(keys.voice_confirmed(outage_id, notice_id))
        return {k.decode(): int(v) for k, v in raw.items()}

    async def flag(self, region: str, outage_id: str, notice_id: str, entry: str) -> None:
        await self.redis.sadd(keys.unconfirmed_calls(region), f"{outage_id}|{notice_id}|{entry}")

    async def unflag(self, region: str, outage_id: str, notice_id: str, entry: str) -> None:
        await self.redis.srem(keys.unconfirmed_calls(region), f"{outage_id}|{notice_id}|{entry}")

    async def flagged(self, region: str) -> dict[tuple[str, str], list[str]]:
        """(outage, notice) -> the entries whose calls were never confirmed."""
        found: dict[tuple[str, str], list[str]] = defaultdict(list)
        for member in await self.redis.smembers(keys.unconfirmed_calls(region)):
            outage_id, notice_id, entry = member.decode().split("|", 2)
            found[(outage_id, notice_id)].append(entry)
        return dict(found)
