"""A stalled Redis (SIGSTOP: connections open, no answers) costs every route at most 2 s and a
503 with Retry-After (the phone menu: an apology and a transfer), and nothing once it is back."""

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from twilio.request_validator import RequestValidator

from schemas.kinds import Role
from schemas.settings import Settings
from store.api_keys import ApiKeyStore
from store.connection import connect
from store.embedded import EmbeddedRedis
from tests.asgi import app_client
from tests.bodies import outage_body
from tests.conftest import REGION, FakeClock
from tests.customers import HEADER, phone, row
from tests.flows import submit_and_approve
from tests.ivr_caller import PUBLIC, TOKEN, parse


class Stalled:
    def __init__(self, server: EmbeddedRedis) -> None:
        self.server = server

    def __enter__(self) -> None:
        assert self.server.pid is not None
        os.kill(self.server.pid, signal.SIGSTOP)

    def __exit__(self, *_: object) -> None:
        assert self.server.pid is not None
        os.kill(self.server.pid, signal.SIGCONT)


@pytest.fixture
async def stalling(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[EmbeddedRedis, httpx.AsyncClient, Any]]:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    settings = Settings(
        redis_url=server.url, data_dir=tmp_path, redis_timeout=1.0, twilio_auth_token=TOKEN,
        public_base_url=PUBLIC, queue_name="stall:q",
    )  # fmt: skip
    pool = connect(server.url, settings.redis_timeout)
    keys: dict[str, str] = {}
    store = ApiKeyStore(pool)
    for name, roles in (("submitter", {Role.SUBMITTER}), ("reviewer", {Role.REVIEWER})):
        _, keys[name] = await store.create(
            name=name, centre="c", region=REGION, roles=frozenset(roles), now=clock()
        )
    try:
        async with app_client(settings, pool, clock) as client:
            yield server, client, keys
    finally:
        if server.pid is not None:
            os.kill(server.pid, signal.SIGCONT)
        await pool.aclose()
        server.stop()


def _signed(path: str, form: dict[str, str]) -> dict[str, Any]:
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}{path}", form)
    return {"data": form, "headers": {"X-Twilio-Signature": signature}}


async def test_every_route_answers_within_two_seconds_while_redis_is_stalled_then_recovers(
    stalling: tuple[EmbeddedRedis, httpx.AsyncClient, dict[str, str]], clock: FakeClock
) -> None:
    server, client, secrets = stalling

    class KeyHolder:
        def headers(self, name: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {secrets[name]}"}

    keys = KeyHolder()
    await client.post(
        "/api/v1/customers/import", content=HEADER + row("A1", phone(1)), headers=keys.headers("submitter")
    )
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))  # type: ignore[arg-type]
    assert outage["status"] == "published"
    sub, rev = keys.headers("submitter"), keys.headers("reviewer")
    oid = outage["id"]
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/v1/outages", {"headers": rev}),
        ("POST", "/api/v1/outages", {"headers": sub, "json": outage_body(clock(), external_id="X2")}),
        ("GET", f"/api/v1/outages/{oid}", {"headers": rev}),
        ("GET", f"/api/v1/outages/{oid}/preview", {"headers": rev}),
        ("POST", f"/api/v1/outages/{oid}/approve", {"headers": {**rev, "If-Match": '"1"'}}),
        ("GET", "/api/v1/reviews", {"headers": rev}),
        ("GET", "/api/v1/compliance", {"headers": rev}),
        ("POST", "/api/v1/customers/import", {"headers": sub, "content": HEADER + row("A2", phone(2))}),
        ("GET", "/", {}),
        ("GET", f"/outages/{oid}", {}),
        ("GET", "/lookup?q=F1", {}),
        ("GET", "/api/v1/public/outages", {}),
        ("GET", f"/feeds/{REGION}/atom.xml", {}),
        ("GET", f"/feeds/{REGION}/cap.atom", {}),
        ("GET", f"/feeds/{REGION}/outages.ics", {}),
        ("GET", "/events", {}),
        ("GET", "/ready", {}),
        ("GET", "/metrics", {}),
        ("POST", "/twilio/sms/inbound", _signed("/twilio/sms/inbound", {"From": phone(1), "Body": "STATUS"})),
        ("POST", "/twilio/sms/status", _signed("/twilio/sms/status", {"MessageSid": "SM1", "MessageStatus": "delivered"})),
    ]  # fmt: skip
    with Stalled(server):
        # The webhooks twice: once first, once after routes that leave connections mid-command.
        for method, path, kwargs in requests[-2:] + requests:
            started = time.monotonic()
            answer = await asyncio.wait_for(client.request(method, path, **kwargs), 10)
            elapsed = time.monotonic() - started
            assert elapsed < 2.0, (path, elapsed)
            assert answer.status_code == 503, (path, answer.status_code, answer.text[:200])
            assert int(answer.headers.get("retry-after", "0")) > 0, (path, answer.headers)
            if path == "/" or path.startswith(("/outages", "/lookup")):
                # A customer's browser gets a page saying so, not JSON.
                assert answer.headers["content-type"].startswith("text/html"), path
                assert "95598" in answer.text
        started = time.monotonic()
        call = await client.post(
            "/ivr/voice", **_signed("/ivr/voice", {"From": phone(1), "To": "+8695598", "CallSid": "CA1"})
        )
        assert time.monotonic() - started < 2.5
        turn = parse(call.text)
        assert turn.dial is not None
    # Back by itself, without a restart of anything.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (await client.get("/api/v1/outages", headers=rev)).status_code == 200:
            break
        await asyncio.sleep(0.1)
    for method, path, kwargs in requests[:4]:
        answer = await client.request(method, path, **kwargs)
        assert answer.status_code < 500, (path, answer.status_code)
    assert msgspec.json.decode((await client.get(f"/api/v1/outages/{oid}", headers=rev)).content)["id"] == oid
