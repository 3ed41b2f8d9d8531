"""The local outbox: messages kept in Redis and shown at /dev/outbox instead of being sent."""

import secrets
from datetime import datetime

from publishers.base import MessageRef, SentMessage
from schemas.clock import Clock
from schemas.sms import sms_size
from store.outbox import Outbox, OutboxMessage


class OutboxProvider:
    def __init__(self, outbox: Outbox, clock: Clock, keep: int) -> None:
        self.outbox = outbox
        self.clock = clock
        self.keep = keep

    @property
    def sender(self) -> str:
        return "outbox"

    async def send(self, to: str, body: str, ref: MessageRef) -> SentMessage:
        size = sms_size(body)
        sid = f"OB{secrets.token_hex(16)}"
        message = OutboxMessage(
            sid=sid,
            to=to,
            body=body,
            segments=size.segments,
            encoding=size.encoding,
            at=self.clock(),
            outage_id=ref.outage_id,
            notice_id=ref.notice_id,
            account=ref.account,
            language=ref.language,
        )
        await self.outbox.add(message, self.keep)
        return SentMessage(sid=sid)

    async def find(self, to: str, body: str, since: datetime) -> SentMessage | None:
        sid = await self.outbox.sid_for(to, body)
        return None if sid is None else SentMessage(sid=sid)

    async def close(self) -> None:
        return None
