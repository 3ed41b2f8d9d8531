"""The web channel: writes the public state pages, the public API and the feeds read."""

from redis.asyncio import Redis

from publishers.base import TAKEN, HandOver
from schemas.notices import Notice
from schemas.public import is_public, public_view
from store.web import WebStore


class WebPublisher:
    def __init__(self, redis: Redis) -> None:
        self.store = WebStore(redis)

    @property
    def channel(self) -> str:
        return "web"

    async def publish(self, notice: Notice) -> HandOver:
        # Arrears, theft and violation concern named customers: never on a public page or feed.
        if not is_public(notice.outage.kind):
            return TAKEN
        await self.store.save(public_view(notice.outage), notice.id)
        return TAKEN
