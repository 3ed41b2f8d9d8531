"""Who is calling: an API key's secret to the key (centre, region, roles), or nobody."""

from redis.asyncio import Redis

from schemas.keys import ApiKey
from store.api_keys import ApiKeyStore


class AccessService:
    def __init__(self, redis: Redis) -> None:
        self.keys = ApiKeyStore(redis)

    async def key_of(self, secret: str) -> ApiKey | None:
        """The active key with this secret; None if unknown or revoked."""
        return await self.keys.by_secret(secret)
