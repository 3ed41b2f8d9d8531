"""The interface every channel publisher implements, and the errors it raises."""

from datetime import timedelta
from typing import Protocol

from schemas.notices import Notice


class PublishError(Exception):
    """A channel could not take the notice. Publishers raise; they never return False."""

    def __init__(self, channel: str, detail: str) -> None:
        super().__init__(f"{channel}: {detail}")
        self.channel = channel
        self.detail = detail


class RetryablePublishError(PublishError):
    """Worth trying again later (provider throttling, a 5xx, a timeout)."""

    def __init__(self, channel: str, detail: str, retry_after: timedelta = timedelta(seconds=5)) -> None:
        super().__init__(channel, detail)
        self.retry_after = retry_after


class PermanentPublishError(PublishError):
    """Trying again would fail the same way; recorded and not retried."""


class Publisher(Protocol):
    """Hands one published notice to one channel.

    `publish` may be called again for the same notice (a retried job, a re-dispatch after a
    crash): it must be idempotent on (notice.outage.id, notice.id).
    """

    @property
    def channel(self) -> str: ...

    async def publish(self, notice: Notice) -> None: ...
