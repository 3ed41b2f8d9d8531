"""Public renders answered before routing (api.prebuilt) and the version read they share
(store.coalesce.SharedRead): the same bytes as the application's, never a stale version."""

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from api.cache import RenderedCache, cache_key
from api.prebuilt import serve_prebuilt
from store.coalesce import SharedRead
from tests.bodies import fault_body
from tests.conftest import FakeClock, Keys
from tests.flows import submit_and_approve

NOW = datetime.fromisoformat("2026-11-23T10:00:00+08:00")


async def test_a_shared_read_is_never_older_than_its_caller() -> None:
    stored = {"version": 1}
    reading, release = asyncio.Event(), asyncio.Event()

    async def read() -> int:
        value = stored["version"]
        reading.set()
        await release.wait()
        return value

    shared = SharedRead(read)
    first = asyncio.create_task(shared.get())
    await reading.wait()
    # Published while the first read is under way: those who ask now must see it.
    stored["version"] = 2
    later = [asyncio.create_task(shared.get()) for _ in range(20)]
    await asyncio.sleep(0)
    release.set()
    assert await first == 1
    assert await asyncio.gather(*later) == [2] * 20
    assert shared.reads == 2, "the twenty waiting callers shared one read"


async def test_a_failed_shared_read_fails_its_callers_and_the_next_call_reads_again() -> None:
    calls = 0

    async def read() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RedisConnectionError("gone")
        return 7

    shared = SharedRead(read)
    first = asyncio.create_task(shared.get())
    await asyncio.sleep(0)
    later = [asyncio.create_task(shared.get()) for _ in range(3)]
    with pytest.raises(RedisConnectionError):
        await first
    assert await asyncio.gather(*later) == [7, 7, 7], "those who asked during the failed read get the next"
    assert await shared.get() == 7


class Inner:
    """Stands for the application behind: counts what reaches it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"app", "more_body": False})


async def _get(
    app: Any, path: str, query: str = "", headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": method, "path": path, "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }  # fmt: skip
    await app(scope, None, send)
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


async def test_a_rendered_response_is_answered_before_the_application_while_its_version_holds() -> None:
    rendered, inner = RenderedCache(), Inner()
    version = {"now": 3}

    async def current() -> int:
        return version["now"]

    app = serve_prebuilt(inner, rendered, current, lambda: NOW)
    path = "/api/v1/public/outages"
    assert (await _get(app, path))[0] == 299 and inner.calls == 1, "nothing rendered yet: the application"
    headers = {"ETag": '"v3"', "Cache-Control": "public, max-age=30"}
    await rendered.through(
        cache_key(path, "region=310115", 3, NOW),
        _body(b'{"items":[]}'),
        media_type="application/json",
        headers=headers,
    )
    status, sent_headers, body = await _get(app, path, "region=310115")
    assert (status, body, inner.calls) == (200, b'{"items":[]}', 1)
    assert sent_headers == {
        b"etag": b'"v3"', b"cache-control": b"public, max-age=30",
        b"content-type": b"application/json", b"content-length": b"12",
    }  # fmt: skip
    assert (await _get(app, path, "region=310115", {"If-None-Match": 'W/"v3", "x"'}))[::2] == (304, b"")
    assert (await _get(app, path, "region=310115", {"If-None-Match": '"old"'}))[0] == 200
    # Everything else goes on to the application, which has its own rules for it.
    assert (await _get(app, path, "region=310116"))[0] == 299, "another query"
    assert (await _get(app, path, "region=310115", method="POST"))[0] == 299
    assert (await _get(app, path, "region=310115", {"If-Modified-Since": "Mon, 23 Nov 2026 02:00:00 GMT"}))[
        0
    ] == 299
    version["now"] = 4
    assert (await _get(app, path, "region=310115"))[0] == 299, "published since: rendered again"
    assert inner.calls == 5


async def test_a_store_that_is_away_leaves_the_answer_to_the_application() -> None:
    rendered, inner = RenderedCache(), Inner()

    async def away() -> int:
        raise RedisConnectionError("gone")

    await rendered.through(cache_key("/", "", 1, NOW), _body(b"<ul>"), media_type="text/html")
    app = serve_prebuilt(inner, rendered, away, lambda: NOW)
    assert (await _get(app, "/"))[0] == 299


def _body(body: bytes):  # type: ignore[no-untyped-def]
    async def render() -> bytes:
        return body

    return render


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/public/outages?region=310115",
        "/api/v1/public/outages.geojson",
        "/outages",
        "/feeds/310115/atom.xml",
    ],
)
async def test_the_service_answers_a_repeated_request_byte_for_byte_and_a_publication_at_once(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, run_channels: Any, path: str
) -> None:
    first = await client.get(path)
    again = await client.get(path)
    assert first.status_code == again.status_code == 200
    assert (again.content, again.headers.multi_items()) == (first.content, first.headers.multi_items())
    created = await submit_and_approve(client, keys, fault_body(clock()))
    await run_channels()
    after = await client.get(path)
    assert after.status_code == 200 and created["id"] in after.text
