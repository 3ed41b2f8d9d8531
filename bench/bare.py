"""The framework's floor for a route: a bare Litestar app (no middleware, no dependencies, no
Redis) that answers GET /body with a prebuilt body of a given size and GET /ping with b"ok",
under uvicorn as the service runs. A route of the service is measured against it in the same run.

    .venv/bin/python -m bench.bare <port> <body bytes>
"""

import sys

import uvicorn
from litestar import Litestar, Response, get


def app(size: int) -> Litestar:
    body = b'{"items":[' + b'"' + b"x" * max(0, size - 14) + b'"]}'

    @get("/body", sync_to_thread=False)
    def prebuilt() -> Response[bytes]:
        return Response(body, media_type="application/json")

    @get("/ping", sync_to_thread=False)
    def ping() -> bytes:
        return b"ok"

    return Litestar([prebuilt, ping])


if __name__ == "__main__":
    uvicorn.run(
        app(int(sys.argv[2])), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False
    )
