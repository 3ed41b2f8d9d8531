"""Timed follow-ups in Redis: they outlive any worker, and each fires once."""

from collections.abc import Sequence
from datetime import datetime

from redis.asyncio import Redis

from schemas.timeline import ONE_OFF, Event, Timed
from store import keys

# Take one due event: only the worker whose ZREM removed it acts on it.
_TAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local taken = {}
for _, member in ipairs(due) do
  if redis.call('ZREM', KEYS[1], member) == 1 then taken[#taken + 1] = member end
end
return taken
"""


class Timeline:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._take = redis.register_script(_TAKE)

    async def replace(self, outage_id: str, events: Sequence[Timed]) -> None:
        """The outage's events are now exactly these (a change moves or drops them)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.timeline(), *[f"{e.value}|{outage_id}" for e in Event if e not in ONE_OFF])
            if events:
                pipe.zadd(keys.timeline(), {f"{t.event.value}|{outage_id}": t.at.timestamp() for t in events})
            await pipe.execute()

    async def schedule(self, outage_id: str, timed: Timed) -> None:
        await self.redis.zadd(keys.timeline(), {f"{timed.event.value}|{outage_id}": timed.at.timestamp()})

    async def take_due(self, now: datetime, limit: int = 500) -> list[tuple[Event, str]]:
        taken = await self._take(keys=[keys.timeline()], args=[now.timestamp(), limit])
        pairs = [m.decode().partition("|") for m in taken]
        return [(Event(event), outage_id) for event, _, outage_id in pairs]

    async def flag_overdue(self, region: str, outage_id: str, since: datetime) -> None:
        await self.redis.zadd(keys.overdue(region), {outage_id: since.timestamp()})

    async def clear_overdue(self, region: str, outage_id: str) -> None:
        await self.redis.zrem(keys.overdue(region), outage_id)

    async def overdue(self, region: str) -> list[str]:
        return [i.decode() for i in await self.redis.zrange(keys.overdue(region), 0, -1)]
