"""API keys of dispatch centres, stored by the hash of their secret."""

import hashlib
import secrets
from datetime import datetime

import msgspec
from redis.asyncio import Redis

from schemas.keys import ApiKey
from schemas.kinds import Role
from store import keys

_decoder = msgspec.json.Decoder(ApiKey)
_encode = msgspec.json.Encoder().encode


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def create(
        self,
        *,
        name: str,
        centre: str,
        region: str,
        roles: frozenset[Role],
        now: datetime,
        secret: str | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its secret; the secret is shown once and never stored."""
        secret = secret or f"onk_{secrets.token_urlsafe(32)}"
        key = ApiKey(
            key_id=f"key_{secrets.token_hex(6)}",
            name=name,
            centre=centre,
            region=region,
            roles=roles,
            created_at=now,
            secret_sha256=secret_hash(secret),
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.api_key(key.secret_sha256), _encode(key))
            pipe.hset(keys.api_key_ids(), key.key_id, key.secret_sha256)
            await pipe.execute()
        return key, secret

    async def by_secret(self, secret: str) -> ApiKey | None:
        raw = await self.redis.get(keys.api_key(secret_hash(secret)))
        if raw is None:
            return None
        key = _decoder.decode(raw)
        return None if key.revoked else key

    async def all(self) -> list[ApiKey]:
        hashes = await self.redis.hvals(keys.api_key_ids())
        if not hashes:
            return []
        raws = await self.redis.mget([keys.api_key(h.decode()) for h in hashes])
        return sorted((_decoder.decode(r) for r in raws if r is not None), key=lambda k: k.created_at)

    async def revoke(self, key_id: str) -> bool:
        digest = await self.redis.hget(keys.api_key_ids(), key_id)
        if digest is None:
            return False
        raw = await self.redis.get(keys.api_key(digest.decode()))
        if raw is None:
            return False
        key = msgspec.structs.replace(_decoder.decode(raw), revoked=True)
        await self.redis.set(keys.api_key(digest.decode()), _encode(key))
        return True
