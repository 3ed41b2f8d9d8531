"""The published state pages and feeds read: written once per notice, read without scanning records."""

from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
from redis.asyncio import Redis

from schemas.public import PublicOutage, WebEvent, shown_until
from store import keys

_decoder = msgspec.json.Decoder(PublicOutage)
_encode = msgspec.json.Encoder().encode


class WebStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def save(self, outage: PublicOutage, notice_id: str) -> int:
        """Store the outage as it now reads, list it, and tell live pages; returns the new version."""
        member = f"{outage.id}/{notice_id}"
        until = shown_until(outage).timestamp()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.web_outages(), outage.id, _encode(outage))  # type: ignore[arg-type]
            for region in (outage.region, None):
                pipe.zadd(keys.web_visible(region), {outage.id: until})
                pipe.zadd(keys.web_notices(region), {member: outage.updated_at.timestamp()})
            for feeder in outage.feeders:
                pipe.sadd(keys.web_by_feeder(feeder), outage.id)
            for area in outage.transformer_areas:
                pipe.sadd(keys.web_by_area(area), outage.id)
            pipe.incr(keys.web_version())
            results = await pipe.execute()
        version = int(results[-1])
        event = WebEvent(region=outage.region, outage_id=outage.id, notice=notice_id, version=version)
        await self.redis.publish(keys.web_events(), msgspec.json.encode(event))
        return version

    async def last_published(self, region: str | None) -> datetime | None:
        """When the newest public notice (of a region, or of all) was published."""
        newest = await self.redis.zrevrange(keys.web_notices(region), 0, 0, withscores=True)
        return datetime.fromtimestamp(newest[0][1], UTC) if newest else None

    async def version(self) -> int:
        return int(await self.redis.get(keys.web_version()) or 0)

    async def get(self, outage_id: str) -> PublicOutage | None:
        raw = await self.redis.hget(keys.web_outages(), outage_id)
        return None if raw is None else _decoder.decode(raw)

    async def _many(self, ids: Sequence[bytes | str]) -> list[PublicOutage]:
        if not ids:
            return []
        raws = await self.redis.hmget(keys.web_outages(), list(ids))
        return [_decoder.decode(r) for r in raws if r is not None]

    async def visible(self, region: str | None, now: datetime) -> list[PublicOutage]:
        """Outages not yet a day past their end, newest news first."""
        ids = await self.redis.zrangebyscore(keys.web_visible(region), now.timestamp(), "+inf")
        return sorted(await self._many(ids), key=lambda o: o.updated_at, reverse=True)

    async def affecting(self, *, feeders: Sequence[str], areas: Sequence[str]) -> list[PublicOutage]:
        sets = [keys.web_by_feeder(f) for f in feeders] + [keys.web_by_area(a) for a in areas]
        if not sets:
            return []
        ids = await self.redis.sunion(sets)
        return sorted(await self._many(list(ids)), key=lambda o: o.starts_at)

    async def notices(self, region: str | None, limit: int) -> list[tuple[PublicOutage, str]]:
        """The latest published notices (outage as it reads now, notice id), newest first."""
        members = [m.decode() for m in await self.redis.zrevrange(keys.web_notices(region), 0, limit - 1)]
        pairs = [m.partition("/") for m in members]
        outages = {o.id: o for o in await self._many(list({p[0] for p in pairs}))}
        return [(outages[o], n) for o, _, n in pairs if o in outages]

    async def regions(self) -> list[str]:
        ids = await self.redis.zrange(keys.web_visible(None), 0, -1)
        return sorted({o.region for o in await self._many(ids)})

    def events_channel(self) -> str:
        return keys.web_events()
