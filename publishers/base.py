"""What a channel is made of: a publisher that takes each published notice, and, for per-customer
channels, a provider that carries one message (and the errors it raises instead of returning False)."""

from datetime import datetime, timedelta
from typing import Protocol

import msgspec

from schemas.notices import Notice


class HandOver(msgspec.Struct, frozen=True, kw_only=True):
    """What a publisher did with a notice, as a value the publish job acts on.

    `retry_after`: not taken yet, hand it over again then; `refused`: refused for good (why).
    Neither: taken.
    """

    retry_after: timedelta | None = None
    refused: str = ""


TAKEN = HandOver()


class Publisher(Protocol):
    """Hands one published notice to one channel.

    `publish` may be called again for the same notice (a retried job, a re-dispatch after a
    crash): it must be idempotent on (notice.outage.id, notice.id).
    """

    @property
    def channel(self) -> str: ...

    async def publish(self, notice: Notice) -> HandOver: ...


class MessageRef(msgspec.Struct, frozen=True):
    outage_id: str
    notice_id: str
    account: str
    language: str


class SentMessage(msgspec.Struct, frozen=True):
    # The provider's id of the message: its receipts name it.
    sid: str
    # Normalised: "accepted" until a receipt says more.
    status: str = "accepted"


class ProviderError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class RetryableProviderError(ProviderError):
    """Throttled or a server error before the message was created: send again later."""

    def __init__(self, code: str, detail: str, retry_after: timedelta | None = None) -> None:
        super().__init__(code, detail)
        self.retry_after = retry_after


class PermanentProviderError(ProviderError):
    """The provider refused this message for good (invalid address, unsubscribed recipient)."""

    def __init__(self, code: str, detail: str, *, opted_out: bool = False) -> None:
        super().__init__(code, detail)
        self.opted_out = opted_out


class UncertainProviderError(RetryableProviderError):
    """A server error: the message may have been created anyway. Look before sending again."""


class AmbiguousProviderError(ProviderError):
    """No answer (timeout, connection lost mid-request): the message may or may not exist."""


class Provider(Protocol):
    """Carries one message to one address. The delivery engine claims, records and reconciles."""

    @property
    def sender(self) -> str:
        """The sending identity whose rate cap applies."""
        ...

    async def send(self, to: str, body: str, ref: MessageRef) -> SentMessage: ...

    async def find(self, to: str, body: str, since: datetime) -> SentMessage | None:
        """The message with this body sent to `to` since `since`, if the provider has it."""
        ...

    async def close(self) -> None: ...
