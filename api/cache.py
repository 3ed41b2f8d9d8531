"""Rendered public responses, kept per (published version, minute, request): a hit is one Redis GET.

Everything a public page or list shows is fixed by the web version (bumped at every publication)
and the minute (phases move with time), so a render is valid until either changes.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime

CacheKey = tuple[str, str, int, int]


def cache_key(path: str, query: str, version: int, now: datetime) -> CacheKey:
    # The minute as a number: formatting the time was 4 % of a prebuilt answer's cost (py-spy).
    return (path, query, version, int(now.timestamp()) // 60)


class Prebuilt:
    """A rendered response, its headers encoded once: served as is by the handler that rendered it
    and, while its key holds, by api.prebuilt before any routing."""

    __slots__ = ("asgi_headers", "asgi_validators", "body", "etag")

    def __init__(self, body: bytes, media_type: str, headers: dict[str, str]) -> None:
        # A str enum (Litestar's MediaType) formats as its name, not its value.
        media_type = str(getattr(media_type, "value", media_type))
        self.body = body
        self.etag = headers.get("ETag")
        # As Litestar writes them, so both paths answer alike.
        content_type = f"{media_type}; charset=utf-8" if media_type.startswith("text/") else media_type
        self.asgi_validators = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        self.asgi_headers = [
            *self.asgi_validators,
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ]


class RenderedCache:
    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[CacheKey, Prebuilt] = OrderedDict()
        self._rendering: dict[CacheKey, asyncio.Task[Prebuilt]] = {}
        # The paths ever rendered: only their requests are worth a look before routing.
        self.paths: set[str] = set()

    async def through(
        self,
        key: CacheKey,
        render: Callable[[], Awaitable[bytes]],
        *,
        media_type: str,
        headers: dict[str, str] | None = None,
    ) -> Prebuilt:
        """The cached response, else one render shared by every request that misses meanwhile.

        A publication changes the key of every page at once, and each open page re-fetches its
        list on the live event: without sharing, all of them would render the same list.
        """
        found = self.get(key)
        if found is not None:
            return found
        task = self._rendering.get(key)
        if task is None:

            async def build() -> Prebuilt:
                return Prebuilt(await render(), media_type, headers or {})

            task = asyncio.ensure_future(build())
            self._rendering[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        # A client that goes away cancels its own wait, not the render the others wait for.
        return await asyncio.shield(task)

    def _settle(self, key: CacheKey, task: "asyncio.Task[Prebuilt]") -> None:
        self._rendering.pop(key, None)
        if not task.cancelled() and task.exception() is None:
            self.put(key, task.result())

    def get(self, key: CacheKey) -> Prebuilt | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: CacheKey, response: Prebuilt) -> Prebuilt:
        self.paths.add(key[0])
        self._items[key] = response
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return response
