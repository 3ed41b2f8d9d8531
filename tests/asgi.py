"""httpx's in-process transport for the Litestar app."""

from typing import Any, cast

import httpx
from litestar import Litestar


def asgi_transport(app: Litestar) -> httpx.ASGITransport:
    # httpx types its ASGI app with plain dicts; Litestar's typed scopes are the same at run time.
    return httpx.ASGITransport(app=cast(Any, app))
