"""What an SMS provider does and the errors it raises (never a False return)."""

from datetime import datetime, timedelta
from typing import Protocol

import msgspec


class MessageRef(msgspec.Struct, frozen=True):
    outage_id: str
    notice_id: str
    account: str
    language: str


class SentMessage(msgspec.Struct, frozen=True):
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
    """The provider refused this message for good (invalid number, unsubscribed recipient)."""

    def __init__(self, code: str, detail: str, *, opted_out: bool = False) -> None:
        super().__init__(code, detail)
        self.opted_out = opted_out


class UncertainProviderError(RetryableProviderError):
    """A server error: the message may have been created anyway. Look before sending again."""


class AmbiguousProviderError(ProviderError):
    """No answer (timeout, connection lost mid-request): the message may or may not exist."""


class SmsProvider(Protocol):
    @property
    def sender(self) -> str:
        """The sending identity whose rate cap applies."""
        ...

    async def send(self, to: str, body: str, ref: MessageRef) -> SentMessage: ...

    async def find(self, to: str, body: str, since: datetime) -> SentMessage | None:
        """The message with this body sent to `to` since `since`, if the provider has it."""
        ...

    async def close(self) -> None: ...
