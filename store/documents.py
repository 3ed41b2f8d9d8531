"""Read, change and write one msgpack document atomically: the WATCH loop every store shares."""

from collections.abc import Callable
from typing import TypeVar

import msgspec
from redis.asyncio import Redis
from redis.exceptions import WatchError

T = TypeVar("T")
_encode = msgspec.msgpack.Encoder().encode


async def update_document(
    redis: Redis, key: str, decoder: msgspec.msgpack.Decoder[T], change: Callable[[T], T | None]
) -> T | None:
    """The changed document; None when it is missing or `change` declined (returned None), and
    then the stored document is unchanged. Redone when another client wrote it meanwhile."""
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key)
                raw = await pipe.get(key)
                if raw is None:
                    return None
                changed = change(decoder.decode(raw))
                if changed is None:
                    return None
                pipe.multi()
                pipe.set(key, _encode(changed))
                await pipe.execute()
                return changed
            except WatchError:
                continue
