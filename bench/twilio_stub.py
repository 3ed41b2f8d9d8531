"""A fast stand-in for Twilio's Messages API, for the hand-over benchmark: every create is
answered 201 with a message (keep-alive, under uvicorn as the service runs), a lookup finds
nothing, GET /count says how many were created. The test suite's fake (tests/fake_twilio.py)
keeps every message for assertions and answers from threads: right for tests, too slow to be the
far end of a throughput figure.

    .venv/bin/python -m bench.twilio_stub <port>
"""

import itertools
import json
import sys
from typing import Any

import uvicorn

_created = itertools.count(1)
_count = 0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _count
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    payload: dict[str, Any]
    if scope["method"] == "POST":
        _count = next(_created)
        sid = f"SM{_count:032x}"
        status = 201
        payload = {"sid": sid, "status": "queued", "num_segments": "1", "direction": "outbound-api",
                   "api_version": "2010-04-01", "account_sid": "AC" + "0" * 32}  # fmt: skip
    elif scope["path"] == "/count":
        status, payload = 200, {"created": _count}
    else:
        status = 200
        payload = {"messages": [], "next_page_uri": None, "page": 0, "page_size": 50, "uri": scope["path"]}
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False, lifespan="off"
    )
