"""Partner webhooks: signed per Standard Webhooks, retried under one id, disabled after persistent
failure with the reason, never to private targets unless allowed, never private notices."""

import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import msgspec
import pytest
from arq.connections import ArqRedis
from standardwebhooks.webhooks import Webhook as Verifier

from schemas.settings import Settings
from services.webhooks import WebhookService
from store.embedded import free_port
from tests.asgi import app_client
from tests.bodies import outage_body
from tests.conftest import FakeClock, Keys, snapshot
from tests.customers import load, phone, row
from tests.flows import submit_and_approve
from workers.worker import build_worker

Client = httpx.AsyncClient
HOOKS = "/api/v1/webhooks"


class Receiver:
    """A partner's endpoint: records every request, answers with the statuses it is given."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture
def allowing(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, webhook_allow_private=True)


@pytest.fixture
async def partner_client(allowing: Settings, redis: ArqRedis, clock: FakeClock) -> AsyncIterator[Client]:
    async with app_client(allowing, redis, clock) as test_client:
        yield test_client


async def _run(settings: Settings, redis: ArqRedis, clock: FakeClock) -> None:
    worker = build_worker(settings, clock, redis=redis, burst=True)
    await worker.main()
    await worker.on_shutdown(worker.ctx)


@pytest.mark.parametrize(
    ("key", "body", "status", "field"),
    [
        ("partner", {"url": "http://127.0.0.1:9/hooks"}, 422, "url"),
        ("partner", {"url": "https://10.1.2.3/hooks"}, 422, "url"),
        ("partner", {"url": "http://[::1]/hooks"}, 422, "url"),
        ("partner", {"url": "https://localhost/hooks"}, 422, "url"),
        ("partner", {"url": "ftp://example.com/hooks"}, 422, "url"),
        ("partner", {"url": "https://user:pw@example.com/hooks"}, 422, "url"),
        ("partner", {"url": "https://example.com/h", "kinds": ["arrears"]}, 422, "kinds"),
        ("partner", {"url": "https://example.com/h", "format": "xml"}, 400, "format"),
        ("reviewer", {"url": "https://example.com/h"}, 403, "Authorization"),
    ],
)
async def test_refused_registrations_name_the_field_and_store_nothing(
    client: Client, keys: Keys, redis: ArqRedis, key: str, body: dict[str, Any], status: int, field: str
) -> None:
    before = await snapshot(redis)
    response = await client.post(HOOKS, json=body, headers=keys.headers(key))
    assert response.status_code == status, response.text
    assert field in response.text
    assert await snapshot(redis) == before


async def test_each_public_notice_is_posted_signed_and_private_ones_never(
    partner_client: Client,
    keys: Keys,
    clock: FakeClock,
    redis: ArqRedis,
    allowing: Settings,
    receiver: Receiver,
) -> None:
    await load(redis, row("A1", phone(1)))
    created = await partner_client.post(HOOKS, json={"url": receiver.url}, headers=keys.headers("partner"))
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    outage = await submit_and_approve(partner_client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    arrears = outage_body(clock(), kind="arrears", days=4, external_id="AR", scope={"accounts": ["A1"]})
    await submit_and_approve(partner_client, keys, arrears)
    await _run(allowing, redis, clock)
    [(headers, body)] = receiver.requests
    # The receiver's check (its clock is the test's, so the timestamp is compared to ours).
    sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = Verifier(secret).sign(headers["webhook-id"], sent_at, body.decode())
    assert headers["webhook-signature"] == expected and sent_at == clock().replace(microsecond=0)
    event = json.loads(body)
    assert event["type"] == "outage.new" and event["data"]["outage"]["id"] == outage["id"]
    assert headers["webhook-id"] == f"msg_{outage['id']}_new"
    forged = Verifier(secret).sign(headers["webhook-id"], sent_at, body.decode().replace("new", "old"))
    assert forged != headers["webhook-signature"]
    listed = (await partner_client.get(HOOKS, headers=keys.headers("partner"))).json()
    assert listed[0]["enabled"] is True and listed[0]["last_delivered_at"] is not None
    assert "secret" not in json.dumps(listed)


async def test_a_failed_try_is_repeated_under_the_same_id_and_persistent_failure_disables(
    partner_client: Client,
    keys: Keys,
    clock: FakeClock,
    redis: ArqRedis,
    allowing: Settings,
    receiver: Receiver,
) -> None:
    hook = (await partner_client.post(HOOKS, json={"url": receiver.url, "format": "cap"},
                                      headers=keys.headers("partner"))).json()["webhook"]  # fmt: skip
    outage = await submit_and_approve(partner_client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    service = WebhookService(allowing, redis, clock)
    receiver.statuses = [500]
    first = await service.deliver(hook["id"], outage["id"], "new", attempt=1)
    assert first.retry_after == 5 and not first.delivered
    second = await service.deliver(hook["id"], outage["id"], "new", attempt=2)
    assert second.delivered
    ids = {headers["webhook-id"] for headers, _ in receiver.requests}
    assert len(receiver.requests) == 2 and len(ids) == 1, "one id for every try: receivers dedupe"
    alert = ET.fromstring(receiver.requests[-1][1])
    assert alert.tag.endswith("alert") and receiver.requests[-1][0]["content-type"] == "application/cap+xml"

    receiver.statuses = [503] * 10
    outcomes = [await service.deliver(hook["id"], outage["id"], "new", attempt=n) for n in range(1, 9)]
    assert [o.retry_after is not None for o in outcomes] == [True] * 7 + [False]
    [listed] = (await partner_client.get(HOOKS, headers=keys.headers("partner"))).json()
    assert listed["enabled"] is False and "HTTP 503" in listed["disabled_reason"]
    assert (await service.deliver(hook["id"], outage["id"], "new", attempt=1)).gave_up


async def test_a_target_that_now_resolves_inside_is_refused_at_send(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings, allowing: Settings,
    receiver: Receiver,
) -> None:  # fmt: skip
    # Registered while private targets were allowed (or before a DNS change): refused at send.
    created = (await WebhookService(allowing, redis, clock).register(
        msgspec.convert({"url": receiver.url}, __import__("schemas.webhooks", fromlist=["WebhookRequest"]).WebhookRequest),
        keys.keys["partner"],
    ))  # fmt: skip
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    outcome = await WebhookService(settings, redis, clock).deliver(created.webhook.id, outage["id"], "new", 1)
    assert outcome.gave_up and "private" in outcome.gave_up and receiver.requests == []
