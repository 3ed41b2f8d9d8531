"""The delivery engine is one for every per-customer channel: a second channel plugged in as a
provider + texts + a registration gets the ledger, opt-outs, addresses, quiet-hours policy and the
crash reconciliation without code of its own."""

import asyncio
import secrets
from datetime import datetime
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from redis.exceptions import ConnectionError as RedisConnectionError

from publishers.base import MessageRef, SentMessage
from publishers.channel import Channel, ChannelTuning
from publishers.sms import sms_channel
from publishers.sms_providers.outbox import OutboxProvider
from schemas.customers import Customer
from schemas.notices import Notice, notice_of
from schemas.settings import Settings
from services.delivery import Sender
from store.ledger import DeliveryLedger
from store.optouts import OptOuts
from store.outages import OutageStore
from store.outbox import Outbox
from tests.bodies import outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.flows import submit_and_approve
from workers.worker import build_worker


class PagerProvider:
    """Records what it carries; `find` answers from what it recorded (a provider that keeps a log)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, MessageRef]] = []

    @property
    def sender(self) -> str:
        return "pager-gateway"

    async def send(self, to: str, body: str, ref: MessageRef) -> SentMessage:
        self.sent.append((to, body, ref))
        return SentMessage(sid=f"PG{secrets.token_hex(4)}")

    async def find(self, to: str, body: str, since: datetime) -> SentMessage | None:
        return next((SentMessage(sid="PG-found") for t, b, _ in self.sent if (t, b) == (to, body)), None)

    async def close(self) -> None:
        return None


class PagerTexts:
    def render(self, notice: Notice, customer: Customer | None, language: str | None = None) -> str:
        return f"OUTAGE {notice.outage.id} {notice.event.value}"


def _pager_address(customer: Customer) -> str:
    # Only some customers have a pager: the rest must be settled as no_address, not sent.
    return f"pager:{customer.account}" if customer.account.endswith(("1", "3")) else ""


def pager(provider: PagerProvider) -> Channel:
    tuning = ChannelTuning(batch_size=2, concurrency=4, rate=0, retry_base=0, quiet_hours=False)
    return Channel("pager", lambda: provider, PagerTexts(), tuning, _pager_address, lambda body: 1)


async def test_a_second_channel_gets_ledger_opt_outs_addresses_and_its_own_quiet_hours_policy(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings
) -> None:
    await load(redis, *(row(f"A{n}", phone(n)) for n in range(1, 6)))
    await OptOuts(redis, "pager").set_opted_out("pager:A3", True)
    provider = PagerProvider()
    # 23:00: quiet hours hold a planned notice's SMS; the pager channel says it has none.
    clock.now = clock.now.replace(hour=23)
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))

    def channels(s: Settings, r: ArqRedis, c: Any) -> list[Channel]:
        return [sms_channel(s, r, c, OutboxProvider(Outbox(r), c, 100)), pager(provider)]

    worker = build_worker(settings, clock, channels=channels, redis=redis, burst=True)
    await worker.main()

    assert [to for to, _, _ in provider.sent] == ["pager:A1"]
    pager_counts = await DeliveryLedger(redis, "pager").counts(outage["id"], "new")
    assert {k: pager_counts.get(k, 0) for k in ("recipients", "accepted", "opted_out", "no_address")} == {
        "recipients": 5, "accepted": 1, "opted_out": 1, "no_address": 3,
    }  # fmt: skip
    sms_counts = await DeliveryLedger(redis, "sms").counts(outage["id"], "new")
    assert sms_counts["held"] == 5 and sms_counts.get("accepted", 0) == 0
    # The opt-out is the pager's: the SMS channel still owes A3 its message.
    assert await OptOuts(redis, "sms").opted_out([phone(3)]) == [False]
    report = (
        await client.get(f"/api/v1/outages/{outage['id']}/deliveries", headers=keys.headers("reviewer"))
    ).json()["notices"][0]
    assert report["handed_over"].keys() >= {"sms", "pager"}
    assert report["channels"]["sms"]["held"] == 5


async def test_a_dead_runs_claim_on_any_channel_is_reconciled_with_its_provider_not_sent_again(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings
) -> None:
    await load(redis, row("A1", phone(1)), row("A3", phone(3)))
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    notice = notice_of(await OutageStore(redis).get(outage["id"]), "new")
    provider = PagerProvider()
    sender = Sender(redis, settings, pager(provider), clock)
    ledger = DeliveryLedger(redis, "pager")
    # A worker claimed A1 and A3, reached the provider for A1 only, and died.
    for account in ("A1", "A3"):
        assert await ledger.claim_one(outage["id"], "new", account, "dead#1", clock()) == "claimed"
    await provider.send(
        "pager:A1", PagerTexts().render(notice, None), MessageRef(outage["id"], "new", "A1", "")
    )

    outcome = await sender.send_batch(outage["id"], "new", ["A1", "A3"], "next#1")

    assert outcome.retry_after is None and outcome.remaining == []
    assert [to for to, _, _ in provider.sent] == ["pager:A1", "pager:A3"]
    assert await ledger.statuses([(outage["id"], "new", "A1"), (outage["id"], "new", "A3")]) == [
        "accepted",
        "accepted",
    ]
    assert await ledger.by_ref("PG-found") == (outage["id"], "new", "A1")


class StoreLostProvider(PagerProvider):
    """The first send meets a store that went away; the others are slow to come back."""

    def __init__(self) -> None:
        super().__init__()
        self.started = 0

    async def send(self, to: str, body: str, ref: MessageRef) -> SentMessage:
        self.started += 1
        if self.started == 1:
            raise RedisConnectionError("Connection closed by server.")
        await asyncio.sleep(0.2)
        return await super().send(to, body, ref)


async def test_when_one_send_of_a_batch_fails_no_other_send_goes_on_after_the_batch_job_ended(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings
) -> None:
    """The job's next run would take such a send's claim for a dead run's and could send again."""
    await load(redis, *(row(f"A{n}1", phone(n)) for n in range(6)))
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    provider = StoreLostProvider()
    sender = Sender(redis, settings, pager(provider), clock)
    with pytest.raises(RedisConnectionError):
        await sender.send_batch(outage["id"], "new", [f"A{n}1" for n in range(6)], "run#1")
    sent_when_the_job_ended = len(provider.sent)
    await asyncio.sleep(0.4)
    assert len(provider.sent) == sent_when_the_job_ended == 0
