"""Public responses served from their render before any routing.

A public list, map or feed is fixed by the published version and the minute (api.cache); while
both hold, every request for it gets the same bytes. This answers those requests with the
rendered body and its encoded headers (304 to a matching If-None-Match) at the cost of one shared
version read, instead of a pass through routing, dependencies and parameter parsing that would
end in the same bytes. Anything else, and a first request, goes on to the application.
"""

from collections.abc import Awaitable, Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send
from redis.exceptions import RedisError

from api.cache import CacheKey, RenderedCache, cache_key
from api.conditional import matches
from schemas.clock import Clock


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send(HTTPResponseStartEvent(type="http.response.start", status=status, headers=headers))
    await send(HTTPResponseBodyEvent(type="http.response.body", body=body, more_body=False))


def serve_prebuilt(
    app: ASGIApp, rendered: RenderedCache, version: Callable[[], Awaitable[int]], clock: Clock
) -> ASGIApp:
    """Wraps a Litestar app's `asgi_handler`: what Litestar.__call__ runs for every request once
    the scope is set up, in front of routing (lifespan events go elsewhere)."""

    async def prebuilt(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "GET" or scope["path"] not in rendered.paths:
            await app(scope, receive, send)
            return
        try:
            current = await version()
        except (RedisError, OSError):
            # The application answers with its own error for a store that is away.
            await app(scope, receive, send)
            return
        key: CacheKey = cache_key(scope["path"], scope["query_string"].decode(), current, clock())
        found = rendered.get(key)
        if_none_match = _header(scope, b"if-none-match")
        if found is None or (if_none_match is None and _header(scope, b"if-modified-since") is not None):
            # Not rendered yet, or a Last-Modified comparison: the application's own rules.
            await app(scope, receive, send)
            return
        if (
            if_none_match is not None
            and found.etag is not None
            and matches(if_none_match.decode("latin-1"), found.etag)
        ):
            await _respond(send, 304, found.asgi_validators, b"")
            return
        await _respond(send, 200, found.asgi_headers, found.body)

    return prebuilt
