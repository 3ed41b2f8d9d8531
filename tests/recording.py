"""A channel publisher that records what it was given, and can be told to fail."""

from datetime import timedelta

from publishers.base import TAKEN, HandOver
from schemas.notices import Notice


class RecordingPublisher:
    def __init__(self, channel: str) -> None:
        self._channel = channel
        self.received: list[Notice] = []
        self.failures: list[HandOver] = []

    @property
    def channel(self) -> str:
        return self._channel

    def fail_next(self, *, retryable: bool, times: int = 1) -> None:
        for _ in range(times):
            self.failures.append(
                HandOver(retry_after=timedelta(0))
                if retryable
                else HandOver(refused="channel refused the notice")
            )

    async def publish(self, notice: Notice) -> HandOver:
        if self.failures:
            return self.failures.pop(0)
        self.received.append(notice)
        return TAKEN
