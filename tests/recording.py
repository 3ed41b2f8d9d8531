"""A channel publisher that records what it was given, and can be told to fail."""

from datetime import timedelta

from publishers.base import PermanentPublishError, RetryablePublishError
from schemas.notices import Notice


class RecordingPublisher:
    def __init__(self, channel: str) -> None:
        self._channel = channel
        self.received: list[Notice] = []
        self.failures: list[Exception] = []

    @property
    def channel(self) -> str:
        return self._channel

    def fail_next(self, *, retryable: bool, times: int = 1) -> None:
        for _ in range(times):
            error: Exception = (
                RetryablePublishError(self._channel, "provider busy", retry_after=timedelta(0))
                if retryable
                else PermanentPublishError(self._channel, "channel refused the notice")
            )
            self.failures.append(error)

    async def publish(self, notice: Notice) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.received.append(notice)
