"""REDIS_MIN_REPLICAS: a write is answered 201/200 only once that many replicas have it, else a
503 that says so; with a real replica process attached, and without."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis

from schemas.settings import Settings
from store import keys as store_keys
from store.embedded import EmbeddedRedis
from tests.asgi import app_client
from tests.bodies import outage_body
from tests.conftest import FakeClock, Keys


@pytest.fixture
def replicated(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, redis_min_replicas=1, redis_replica_timeout=0.3)


@pytest.fixture
def replica_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "replica")
    server.start()
    yield server
    server.stop()


async def _attach(replica: EmbeddedRedis, primary: EmbeddedRedis) -> aioredis.Redis:
    # The primary syncs a new replica at once (its default waits 5 s to batch replicas).
    on_primary = aioredis.Redis.from_url(primary.url)
    await on_primary.config_set("repl-diskless-sync-delay", 0)
    await on_primary.aclose()
    client: aioredis.Redis = aioredis.Redis.from_url(replica.url)
    await client.config_set("masterauth", primary.password)
    await client.execute_command("REPLICAOF", "127.0.0.1", str(primary.port))
    for _ in range(300):
        if (await client.info("replication")).get("master_link_status") == "up":
            return client
        await asyncio.sleep(0.05)
    raise AssertionError("the replica did not connect")


@contextlib.asynccontextmanager
async def _attached(replica: EmbeddedRedis, primary: EmbeddedRedis) -> AsyncIterator[aioredis.Redis]:
    client = await _attach(replica, primary)
    try:
        yield client
    finally:
        await client.execute_command("REPLICAOF", "NO", "ONE")
        await client.aclose()


@pytest.fixture
async def replica(
    replica_server: EmbeddedRedis, redis_server: EmbeddedRedis, redis: ArqRedis
) -> AsyncIterator[aioredis.Redis]:
    client = await _attach(replica_server, redis_server)
    yield client
    await client.execute_command("REPLICAOF", "NO", "ONE")
    await client.aclose()


async def test_without_the_replica_a_submission_is_a_503_and_a_resend_is_acknowledged_once_replicated(
    replicated: Settings, redis: ArqRedis, clock: FakeClock, keys: Keys, replica_server: EmbeddedRedis,
    redis_server: EmbeddedRedis,
) -> None:  # fmt: skip
    body = outage_body(clock())
    async with app_client(replicated, redis, clock) as client:
        refused = await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))
        assert refused.status_code == 503, refused.text
        assert "0 of 1 replica" in refused.text and "replicated" in refused.text
        async with _attached(replica_server, redis_server) as replica:
            resent = await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))
            assert resent.status_code == 200, resent.text
            assert await replica.exists(store_keys.outage(resent.json()["id"])), "the replica has the record"


async def test_with_a_replica_submissions_and_approvals_are_acknowledged(
    replicated: Settings, redis: ArqRedis, clock: FakeClock, keys: Keys, replica: aioredis.Redis
) -> None:
    async with app_client(replicated, redis, clock) as client:
        created = await client.post(
            "/api/v1/outages", json=outage_body(clock()), headers=keys.headers("submitter")
        )
        assert created.status_code == 201, created.text
        approved = await client.post(
            f"/api/v1/outages/{created.json()['id']}/approve",
            headers={**keys.headers("reviewer"), "If-Match": created.headers["ETag"]},
        )
        assert approved.status_code == 200, approved.text
    assert int(await replica.get("on:replication-probe") or 0) >= 2


async def test_a_customer_import_is_acknowledged_only_once_replicated(
    replicated: Settings, redis: ArqRedis, clock: FakeClock, keys: Keys, replica_server: EmbeddedRedis,
    redis_server: EmbeddedRedis,
) -> None:  # fmt: skip
    from tests.customers import HEADER, phone, row

    content = (HEADER + row("A1", phone(1))).encode()
    headers = {**keys.headers("submitter"), "content-type": "text/csv"}
    async with app_client(replicated, redis, clock) as client:
        refused = await client.post("/api/v1/customers/import", content=content, headers=headers)
        assert refused.status_code == 503 and "replica" in refused.text
        async with _attached(replica_server, redis_server) as replica:
            again = await client.post("/api/v1/customers/import", content=content, headers=headers)
            assert again.status_code == 200, again.text
            assert await replica.hexists(store_keys.customer_bucket("A1"), "A1")


async def test_a_send_is_not_made_on_a_claim_the_replicas_did_not_confirm(
    settings: Settings, replicated: Settings, redis: ArqRedis, clock: FakeClock, keys: Keys,
    replica_server: EmbeddedRedis, redis_server: EmbeddedRedis,
) -> None:  # fmt: skip
    """A claim lost in a failover would let the message go out again: without a replica having
    it, nothing is sent and the batch is retried; with one, it is sent once."""
    from publishers.sms import sms_channel
    from publishers.sms_providers.outbox import OutboxProvider
    from services.delivery import UNREPLICATED_PAUSE, Sender
    from services.outages import OutageService
    from store.ledger import DeliveryLedger
    from store.outbox import Outbox
    from tests.customers import load, phone, row
    from tests.test_worker_crash import fault_body_struct

    await load(redis, row("A1", phone(1)), row("A2", phone(2)))
    service = OutageService(settings, redis, clock)
    outage, _ = await service.submit(fault_body_struct(clock, feeders=["F1"]), keys.keys["submitter"])
    await service.approve_current(outage.id, keys.keys["reviewer"])
    outbox = Outbox(redis)
    channel = sms_channel(replicated, redis, clock, OutboxProvider(outbox, clock, 100))
    sender = Sender(redis, replicated, channel, clock)

    refused = await sender.send_batch(outage.id, "new", ["A1", "A2"], "run-1")
    assert refused.retry_after == UNREPLICATED_PAUSE
    assert (await outbox.page(0, 10))[0] == 0, "nothing was sent"
    ledger = DeliveryLedger(redis, "sms")
    assert await ledger.statuses([(outage.id, "new", "A1"), (outage.id, "new", "A2")]) == [None, None]

    async with _attached(replica_server, redis_server) as replica:
        sent = await sender.send_batch(outage.id, "new", ["A1", "A2"], "run-2")
        assert sent.retry_after is None and not sent.remaining
        assert (await outbox.page(0, 10))[0] == 2
        assert await replica.hexists(store_keys.ledger("sms", outage.id, "new"), "A1")


async def test_a_delivery_receipt_is_answered_only_once_replicated(
    settings: Settings, replicated: Settings, redis: ArqRedis, clock: FakeClock, keys: Keys,
    replica_server: EmbeddedRedis, redis_server: EmbeddedRedis,
) -> None:  # fmt: skip
    from twilio.request_validator import RequestValidator

    from store.ledger import DeliveryLedger
    from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

    public = "https://notices.example.cn"
    signed = msgspec.structs.replace(replicated, twilio_auth_token=AUTH_TOKEN, public_base_url=public)
    ledger = DeliveryLedger(redis, "sms")
    await ledger.claim_one("OUT-1", "new", "A1", "run", clock())
    await ledger.record_sent("OUT-1", "new", "A1", "accepted", "SM1", clock())
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
    headers = {
        "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(
            f"{public}/twilio/sms/status", params
        )
    }
    async with app_client(signed, redis, clock) as client:
        refused = await client.post("/twilio/sms/status", data=params, headers=headers)
        assert refused.status_code == 503, refused.text
        async with _attached(replica_server, redis_server):
            again = await client.post("/twilio/sms/status", data=params, headers=headers)
            assert again.status_code == 204, again.text
            assert await ledger.statuses([("OUT-1", "new", "A1")]) == ["delivered"]


@pytest.mark.parametrize("step", ["approve", "reject", "revise", "change"])
async def test_every_review_step_is_refused_with_a_503_when_no_replica_has_it(
    settings: Settings, replicated: Settings, redis: ArqRedis, clock: FakeClock, keys: Keys, step: str
) -> None:
    """Not only submissions: every write the dispatch API acknowledges waits for the replicas."""
    from tests.flows import approve, reject, submit_and_approve

    body = outage_body(clock(), external_id=f"STEP-{step}")
    async with app_client(settings, redis, clock) as plain:
        if step == "change":
            outage_id = (await submit_and_approve(plain, keys, body))["id"]
        else:
            created = await plain.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))
            outage_id = created.json()["id"]
    async with app_client(replicated, redis, clock) as client:
        if step == "approve":
            answer = await approve(client, keys, outage_id)
        elif step == "reject":
            answer = await reject(client, keys, outage_id, {"reason": "Wrong feeder"})
        elif step == "revise":
            revised = {**body, "title": "Revised title"}
            answer = await client.put(
                f"/api/v1/outages/{outage_id}", json=revised, headers=keys.headers("submitter")
            )
        else:
            change = {"type": "cancel", "reason": "Merged into January"}
            answer = await client.post(
                f"/api/v1/outages/{outage_id}/changes", json=change, headers=keys.headers("submitter")
            )
    assert answer.status_code == 503, (step, answer.status_code, answer.text)
    assert "replicated" in answer.text and "0 of 1 replica" in answer.text
