"""Live updates: one Redis subscription per process, fanned out to every open page."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgspec
from redis.asyncio import Redis

from store.web import WebEvent, WebStore

_decoder = msgspec.json.Decoder(WebEvent)


class Broadcaster:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.channel = WebStore(redis).events_channel()
        self._queues: set[asyncio.Queue[WebEvent]] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def _listen(self) -> None:
        pubsub = self.redis.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            self._ready.set()
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                event = _decoder.decode(message["data"])
                for queue in list(self._queues):
                    # A page that stopped reading misses events, never blocks the others.
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.put_nowait(event)
        finally:
            await pubsub.aclose()

    async def _start(self) -> None:
        # Started by the first subscriber, so an app that nobody watches holds no connection.
        if self._task is None or self._task.done():
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._listen())
        await self._ready.wait()

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator["asyncio.Queue[WebEvent]"]:
        await self._start()
        queue: asyncio.Queue[WebEvent] = asyncio.Queue(maxsize=100)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
