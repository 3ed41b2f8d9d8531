"""httpx's in-process transport for the Litestar app, and a client on it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
from arq.connections import ArqRedis
from litestar import Litestar

from api.app import create_app
from schemas.clock import Clock
from schemas.settings import Settings


def asgi_transport(app: Litestar) -> httpx.ASGITransport:
    # httpx types its ASGI app with plain dicts; Litestar's typed scopes are the same at run time.
    return httpx.ASGITransport(app=cast(Any, app))


@asynccontextmanager
async def app_client(
    settings: Settings, redis: ArqRedis, clock: Clock | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the app built from `settings`, in this event loop: Litestar's AsyncTestClient
    runs the app on another loop, where the test's Redis connections cannot be used."""
    transport = asgi_transport(create_app(settings, redis, clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
