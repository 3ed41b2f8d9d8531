"""Subscriptions of any phone or email to the public notices of an area."""

from collections.abc import Sequence
from datetime import timedelta

import msgspec
from redis.asyncio import Redis

from schemas.contacts import AreaSubscription
from store import keys

_encode = msgspec.msgpack.Encoder().encode
_decoder = msgspec.msgpack.Decoder(AreaSubscription)


class AreaSubscriptionStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def hold(self, subscription: AreaSubscription, ttl: timedelta) -> None:
        """Kept unconfirmed until its code is given (gone after `ttl` if never)."""
        await self.redis.set(keys.area_subscription(subscription.id), _encode(subscription), ex=ttl)

    async def get(self, subscription_id: str) -> AreaSubscription | None:
        raw = await self.redis.get(keys.area_subscription(subscription_id))
        return None if raw is None else _decoder.decode(raw)

    async def change(self, subscription_id: str, changed: AreaSubscription) -> None:
        await self.redis.set(keys.area_subscription(subscription_id), _encode(changed), keepttl=True)

    async def confirm(self, subscription: AreaSubscription) -> None:
        """Confirmed: kept for good and found by its feeders and areas."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.area_subscription(subscription.id), _encode(subscription))
            for feeder in subscription.feeders:
                pipe.sadd(keys.area_subscribers(subscription.region, "feeder", feeder), subscription.id)
            for area in subscription.transformer_areas:
                pipe.sadd(keys.area_subscribers(subscription.region, "area", area), subscription.id)
            await pipe.execute()

    async def remove(self, subscription: AreaSubscription) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.area_subscription(subscription.id))
            for feeder in subscription.feeders:
                pipe.srem(keys.area_subscribers(subscription.region, "feeder", feeder), subscription.id)
            for area in subscription.transformer_areas:
                pipe.srem(keys.area_subscribers(subscription.region, "area", area), subscription.id)
            await pipe.execute()

    async def covering(
        self, region: str, feeders: Sequence[str], transformer_areas: Sequence[str]
    ) -> list[AreaSubscription]:
        """Confirmed subscriptions of any of these feeders or areas (each once)."""
        sources = [keys.area_subscribers(region, "feeder", f) for f in feeders]
        sources += [keys.area_subscribers(region, "area", a) for a in transformer_areas]
        if not sources:
            return []
        ids = sorted(i.decode() for i in await self.redis.sunion(sources))
        if not ids:
            return []
        raws = await self.redis.mget([keys.area_subscription(i) for i in ids])
        return [s for s in (_decoder.decode(r) for r in raws if r is not None) if s.confirmed_at is not None]
