"""Fan-outs that may still have recipients waiting, on any channel, so a stalled one is found and resumed."""

from datetime import datetime

from redis.asyncio import Redis

from store import keys


class FanoutWatch:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def started(self, channel: str, outage_id: str, notice_id: str, at: datetime) -> None:
        await self.redis.zadd(keys.fanouts(), {f"{channel}/{outage_id}/{notice_id}": at.timestamp()})

    async def due(self, checked_before: datetime) -> list[tuple[str, str, str]]:
        """(channel, outage, notice) of the fan-outs last checked before `checked_before`."""
        members = await self.redis.zrangebyscore(keys.fanouts(), "-inf", checked_before.timestamp())
        found = []
        for member in members:
            channel, outage_id, notice_id = member.decode().split("/", 2)
            found.append((channel, outage_id, notice_id))
        return found

    async def checked(
        self, channel: str, outage_id: str, notice_id: str, at: datetime, waiting: int
    ) -> int | None:
        """Record a check; returns how many were waiting at the previous one."""
        member = f"{channel}/{outage_id}/{notice_id}"
        previous = await self.redis.hget(keys.fanout_progress(), member)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.fanouts(), {member: at.timestamp()})
            pipe.hset(keys.fanout_progress(), member, str(waiting))
            await pipe.execute()
        return None if previous is None else int(previous)

    async def finished(self, channel: str, outage_id: str, notice_id: str) -> None:
        member = f"{channel}/{outage_id}/{notice_id}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.fanouts(), member)
            pipe.hdel(keys.fanout_progress(), member)
            await pipe.execute()
