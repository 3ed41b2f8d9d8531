"""Secrets every process of a deployment shares, made on first use and kept in the store."""

import secrets

from redis.asyncio import Redis

from store import keys


async def deployment_secret(redis: Redis, name: str) -> bytes:
    key = keys.deployment_secret(name)
    await redis.set(key, secrets.token_hex(32), nx=True)
    value = await redis.get(key)
    assert value is not None
    return bytes(value)
