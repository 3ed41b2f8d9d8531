"""The local outbox: every SMS the service would have sent when no provider is configured."""

import functools
import hashlib
from datetime import datetime, timedelta

import msgspec
from redis.asyncio import Redis

from store import keys
from store.coalesce import Coalescer

# The outbox keeps the message, and (for two weeks) that this text went to this number, so a run
# that takes over a dead run's claim can ask the outbox as it would ask Twilio.
_OUTBOX_ADD = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return 1
"""


@functools.lru_cache(maxsize=1024)
def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class OutboxMessage(msgspec.Struct, kw_only=True):
    sid: str
    to: str
    body: str
    segments: int
    encoding: str
    at: datetime
    outage_id: str
    notice_id: str
    account: str
    language: str


_outbox_decoder = msgspec.json.Decoder(OutboxMessage)


class Outbox:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._add = redis.register_script(_OUTBOX_ADD)
        # A fan-out's concurrent sends add in one pipeline per turn of the event loop.
        self._adds = Coalescer(redis)

    async def add(self, message: OutboxMessage, keep: int) -> None:
        sent = keys.sms_outbox_sent(message.to, _digest(message.body))
        outbox_keys = [keys.sms_outbox(), sent]
        args: list[bytes | int | str] = [
            msgspec.json.encode(message),
            keep,
            message.sid,
            int(timedelta(days=14).total_seconds()),
        ]
        await self._adds.call(lambda pipe: self._add(keys=outbox_keys, args=args, client=pipe))

    async def sid_for(self, to: str, body: str) -> str | None:
        """The outbox message with this text to this number, if one was kept."""
        sid = await self.redis.get(keys.sms_outbox_sent(to, _digest(body)))
        return None if sid is None else sid.decode()

    async def page(self, offset: int, limit: int) -> tuple[int, list[OutboxMessage]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.llen(keys.sms_outbox())
            pipe.lrange(keys.sms_outbox(), offset, offset + limit - 1)
            total, raws = await pipe.execute()
        return int(total), [_outbox_decoder.decode(r) for r in raws]
