"""Outage records, their history and the indexes the API reads."""

import secrets
from collections.abc import Callable
from datetime import datetime

import msgspec
from redis.asyncio import Redis
from redis.exceptions import WatchError

from schemas.errors import NotFound
from schemas.notices import notice_of, published_notices
from schemas.outage import HistoryEntry, Outage
from schemas.workflow import Transition
from store import keys

ReviewDeadline = Callable[[Outage], datetime]

_outage_decoder = msgspec.json.Decoder(Outage)
_history_decoder = msgspec.json.Decoder(HistoryEntry)
_encode = msgspec.json.Encoder().encode
# Records of a region are fetched in chunks so a large region never builds one huge reply.
_CHUNK = 500


class OutageStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    @staticmethod
    def new_id(now: datetime) -> str:
        # No counter in Redis: allocating an id must not write anything before validation passes.
        return f"OUT-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"

    async def find_by_external_id(self, centre: str, external_id: str) -> Outage | None:
        outage_id = await self.redis.get(keys.outage_by_external_id(centre, external_id))
        if outage_id is None:
            return None
        return await self.get(outage_id.decode())

    async def create(self, transition: Transition, review_deadline: ReviewDeadline) -> Outage:
        """Store a new record, or return the one that won a race for the same external id."""
        outage = transition.outage
        id_key = keys.outage_by_external_id(outage.centre, outage.external_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(id_key)
                existing = await pipe.get(id_key)
                if existing is not None:
                    await pipe.reset()
                    return await self.get(existing.decode())
                pipe.multi()
                pipe.set(id_key, outage.id)
                pipe.zadd(keys.region_outages(outage.region), {outage.id: outage.submitted_at.timestamp()})
                pipe.sadd(keys.regions(), outage.region)
                self._queue_write(pipe, transition, review_deadline)
                await pipe.execute()
            except WatchError:
                existing_id = await self.redis.get(id_key)
                assert existing_id is not None
                return await self.get(existing_id.decode())
        return outage

    def _queue_write(self, pipe: Redis, transition: Transition, review_deadline: ReviewDeadline) -> None:
        outage = transition.outage
        pipe.set(keys.outage(outage.id), _encode(outage))
        if transition.history:
            pipe.rpush(keys.outage_history(outage.id), *[_encode(e) for e in transition.history])
        reviews = keys.region_reviews(outage.region)
        if outage.awaits_review():
            pipe.zadd(reviews, {outage.id: review_deadline(outage).timestamp()})
        else:
            pipe.zrem(reviews, outage.id)
        if transition.published_notice is not None:
            member = f"{outage.id}/{transition.published_notice}"
            published_at = notice_of(outage, transition.published_notice).published_at.timestamp()
            pipe.zadd(keys.dispatch_pending(), {member: published_at})
            pipe.zadd(keys.region_notices(outage.region), {member: published_at})

    async def get(self, outage_id: str) -> Outage:
        raw = await self.redis.get(keys.outage(outage_id))
        if raw is None:
            raise NotFound(f"no outage {outage_id}", field="id", rule="exists")
        return _outage_decoder.decode(raw)

    async def update(
        self,
        outage_id: str,
        transition_of: Callable[[Outage], Transition],
        review_deadline: ReviewDeadline,
    ) -> Transition:
        """Apply a pure transition atomically; a concurrent writer makes it re-read and re-decide."""
        record_key = keys.outage(outage_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(record_key)
                    raw = await pipe.get(record_key)
                    if raw is None:
                        raise NotFound(f"no outage {outage_id}", field="id", rule="exists")
                    transition = transition_of(_outage_decoder.decode(raw))
                    pipe.multi()
                    self._queue_write(pipe, transition, review_deadline)
                    await pipe.execute()
                    return transition
                except WatchError:
                    continue

    async def append_history(self, outage_id: str, entries: list[HistoryEntry]) -> None:
        await self.redis.rpush(keys.outage_history(outage_id), *[_encode(e) for e in entries])

    async def history(self, outage_id: str) -> list[HistoryEntry]:
        raw = await self.redis.lrange(keys.outage_history(outage_id), 0, -1)
        return [_history_decoder.decode(r) for r in raw]

    async def in_region(self, region: str, keep: Callable[[Outage], bool]) -> list[Outage]:
        """Records of a region, newest submission first, that `keep` accepts."""
        ids = await self.redis.zrevrange(keys.region_outages(region), 0, -1)
        found: list[Outage] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = [keys.outage(i.decode()) for i in ids[start : start + _CHUNK]]
            for raw in await self.redis.mget(chunk):
                if raw is not None:
                    outage = _outage_decoder.decode(raw)
                    if keep(outage):
                        found.append(outage)
        return found

    async def page(self, region: str, offset: int, limit: int) -> tuple[list[Outage], int]:
        """One page of a region's records, newest submission first, and how many there are."""
        ids = await self.redis.zrevrange(keys.region_outages(region), offset, offset + limit - 1)
        raws = await self.redis.mget([keys.outage(i.decode()) for i in ids]) if ids else []
        total: int = await self.redis.zcard(keys.region_outages(region))
        return [_outage_decoder.decode(r) for r in raws if r is not None], total

    async def published_between(self, region: str, start: datetime, end: datetime) -> list[Outage]:
        """Records of a region with a notice published in [start, end], in publication order."""
        await self._index_earlier_publications(region)
        members = await self.redis.zrangebyscore(
            keys.region_notices(region), start.timestamp(), end.timestamp()
        )
        ids = list(dict.fromkeys(m.decode().partition("/")[0] for m in members))
        found: list[Outage] = []
        for first in range(0, len(ids), _CHUNK):
            raws = await self.redis.mget([keys.outage(i) for i in ids[first : first + _CHUNK]])
            found += [_outage_decoder.decode(r) for r in raws if r is not None]
        return found

    async def _index_earlier_publications(self, region: str) -> None:
        # Data stored before the index existed (an earlier version's AOF) is indexed once.
        if await self.redis.exists(keys.region_notices_indexed(region)):
            return
        for outage in await self.in_region(region, lambda o: o.published_at is not None):
            notices = {f"{outage.id}/{n}": at.timestamp() for n, at in published_notices(outage)}
            await self.redis.zadd(keys.region_notices(region), notices)
        await self.redis.set(keys.region_notices_indexed(region), 1)

    async def awaiting_review(self, region: str) -> list[Outage]:
        ids = await self.redis.zrange(keys.region_reviews(region), 0, -1)
        if not ids:
            return []
        raws = await self.redis.mget([keys.outage(i.decode()) for i in ids])
        return [_outage_decoder.decode(r) for r in raws if r is not None]
