"""The channel publishers the publish job hands every notice to."""

from collections.abc import Iterable, Iterator

from publishers.base import Publisher
from schemas.notices import Notice


class PublisherRegistry:
    def __init__(self, publishers: Iterable[Publisher] = ()) -> None:
        self._publishers: dict[str, Publisher] = {}
        for publisher in publishers:
            self.register(publisher)

    def register(self, publisher: Publisher) -> None:
        if publisher.channel in self._publishers:
            raise ValueError(f"a publisher for channel {publisher.channel} is already registered")
        self._publishers[publisher.channel] = publisher

    def __iter__(self) -> Iterator[Publisher]:
        return iter(self._publishers.values())

    def channels(self) -> list[str]:
        return list(self._publishers)

    async def publish_to(self, channels: Iterable[str], notice: Notice) -> None:
        """Hands a notice to the named channels only (those registered)."""
        for channel in channels:
            publisher = self._publishers.get(channel)
            if publisher is not None:
                await publisher.publish(notice)
