"""Rendered public responses, kept per (published version, minute, request): a hit is one Redis GET.

Everything a public page or list shows is fixed by the web version (bumped at every publication)
and the minute (phases move with time), so a render is valid until either changes.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime

CacheKey = tuple[str, str, int, str]


def cache_key(path: str, query: str, version: int, now: datetime) -> CacheKey:
    return (path, query, version, f"{now:%Y%m%d%H%M}")


class RenderedCache:
    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[CacheKey, bytes] = OrderedDict()
        self._rendering: dict[CacheKey, asyncio.Task[bytes]] = {}

    async def through(self, key: CacheKey, render: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached body, else one render shared by every request that misses meanwhile.

        A publication changes the key of every page at once, and each open page re-fetches its
        list on the live event: without sharing, all of them would render the same list.
        """
        body = self.get(key)
        if body is not None:
            return body
        task = self._rendering.get(key)
        if task is None:
            task = asyncio.ensure_future(render())
            self._rendering[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        # A client that goes away cancels its own wait, not the render the others wait for.
        return await asyncio.shield(task)

    def _settle(self, key: CacheKey, task: "asyncio.Task[bytes]") -> None:
        self._rendering.pop(key, None)
        if not task.cancelled() and task.exception() is None:
            self.put(key, task.result())

    def get(self, key: CacheKey) -> bytes | None:
        body = self._items.get(key)
        if body is not None:
            self._items.move_to_end(key)
        return body

    def put(self, key: CacheKey, body: bytes) -> bytes:
        self._items[key] = body
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return body
