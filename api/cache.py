"""Rendered public responses, kept per (published version, minute, request): a hit is one Redis GET.

Everything a public page or list shows is fixed by the web version (bumped at every publication)
and the minute (phases move with time), so a render is valid until either changes.
"""

from collections import OrderedDict
from datetime import datetime

CacheKey = tuple[str, str, int, str]


def cache_key(path: str, query: str, version: int, now: datetime) -> CacheKey:
    return (path, query, version, f"{now:%Y%m%d%H%M}")


class RenderedCache:
    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[CacheKey, bytes] = OrderedDict()

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
