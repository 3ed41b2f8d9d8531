"""Live updates: one Redis subscription per process, fanned out to every open page.

The subscription outlives Redis restarts: when it is lost it is made again (backing off), and
every open page is told to refresh once it is back, since events may have been missed meanwhile.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from schemas.public import WebEvent
from store.fault_reports import FaultReportStore
from store.web import WebStore

_decoder = msgspec.json.Decoder(WebEvent)
log = structlog.get_logger("services.live")

# Sent to every page after the subscription was re-made: "something may have changed".
RESYNC = WebEvent(region="", outage_id="*", notice="", version=0)
# How long a new page waits for the subscription before it is told the store is unavailable.
START_TIMEOUT = 1.5


class Broadcaster:
    """Public pages' events and, on a channel of its own, dispatch's (repair orders, suspected
    outages): one subscription for both, each stream given only its own channel's events."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.channel = WebStore(redis).events_channel()
        self.dispatch_channel = FaultReportStore(redis).events_channel()
        self._queues: dict[asyncio.Queue[WebEvent | None], str] = {}
        self._ending = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def _fan_out(self, event: WebEvent, channel: str | None = None) -> None:
        """To the streams of `channel`; None: to every stream."""
        for queue, wanted in list(self._queues.items()):
            if channel is not None and wanted != channel:
                continue
            # A page that stopped reading misses events, never blocks the others.
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)

    async def _listen(self) -> None:
        wait = 0.2
        lost = False
        while not self._closed:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.channel, self.dispatch_channel)
                self._ready.set()
                if lost:
                    log.info("live subscription restored")
                    self._fan_out(RESYNC)
                    lost, wait = False, 0.2
                while not self._closed:
                    # A bounded wait, not listen(): the client's socket timeout would end an idle
                    # subscription; this returns None instead.
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        channel = message["channel"]
                        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
                        self._fan_out(_decoder.decode(message["data"]), channel)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                self._ready.clear()
                if not lost:
                    log.warning("live subscription lost, reconnecting", error=str(exc))
                lost = True
                await asyncio.sleep(wait)
                wait = min(wait * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def start(self) -> None:
        # Started by the first subscriber, so an app that nobody watches holds no connection.
        if self._task is None or self._task.done():
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._listen())
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await self._ready.wait()
        except TimeoutError:
            raise RedisTimeoutError("the live subscription is not available") from None

    def end_streams(self) -> None:
        """The service is stopping: every live stream gets None (its end), and no new one starts."""
        self._ending = True
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    @contextlib.asynccontextmanager
    async def subscription(
        self, *, dispatch: bool = False
    ) -> AsyncIterator["asyncio.Queue[WebEvent | None]"]:
        """The public events, or with `dispatch` the dispatch centre's."""
        await self.start()
        queue: asyncio.Queue[WebEvent | None] = asyncio.Queue(maxsize=100)
        if self._ending:
            queue.put_nowait(None)
        self._queues[queue] = self.dispatch_channel if dispatch else self.channel
        try:
            yield queue
        finally:
            self._queues.pop(queue, None)

    async def close(self) -> None:
        if self._task is not None:
            # The flag too: a cancel can be lost in a Redis command on Python 3.11
            # (tests/test_shutdown.py); and asyncio.wait, so a cancel of the caller is not eaten.
            self._closed = True
            self._task.cancel()
            await asyncio.wait({self._task})
