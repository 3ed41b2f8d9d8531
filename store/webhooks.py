"""Partners' webhooks and their secrets."""

from collections.abc import Callable

import msgspec
from redis.asyncio import Redis

from schemas.webhooks import Webhook
from store import keys
from store.documents import update_document

_encode = msgspec.msgpack.Encoder().encode
_decoder = msgspec.msgpack.Decoder(Webhook)


class WebhookStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def create(self, webhook: Webhook, secret: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.webhook(webhook.id), _encode(webhook))
            pipe.set(keys.webhook_secret(webhook.id), secret)
            pipe.sadd(keys.region_webhooks(webhook.region), webhook.id)
            await pipe.execute()

    async def get(self, webhook_id: str) -> Webhook | None:
        raw = await self.redis.get(keys.webhook(webhook_id))
        return None if raw is None else _decoder.decode(raw)

    async def secret(self, webhook_id: str) -> str | None:
        raw = await self.redis.get(keys.webhook_secret(webhook_id))
        return None if raw is None else raw.decode()

    async def of_region(self, region: str) -> list[Webhook]:
        ids = sorted(i.decode() for i in await self.redis.smembers(keys.region_webhooks(region)))
        if not ids:
            return []
        raws = await self.redis.mget([keys.webhook(i) for i in ids])
        return [_decoder.decode(r) for r in raws if r is not None]

    async def delete(self, webhook: Webhook) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.webhook(webhook.id), keys.webhook_secret(webhook.id))
            pipe.srem(keys.region_webhooks(webhook.region), webhook.id)
            await pipe.execute()

    async def update(self, webhook_id: str, change: Callable[[Webhook], Webhook]) -> Webhook | None:
        return await update_document(self.redis, keys.webhook(webhook_id), _decoder, change)
