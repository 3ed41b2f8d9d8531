"""Approving a notice sends one SMS per affected, reachable customer, once, in their language."""

import time
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from arq.connections import ArqRedis

from publishers.sms import sms_channel
from publishers.sms_providers.outbox import OutboxProvider
from schemas.notices import notice_of
from schemas.settings import Settings
from services.delivery import Fanout, Sender
from services.jobs import enqueue_publish, publish_job_id
from store import keys as store_keys
from store.held import HeldBatches
from store.ledger import DeliveryLedger
from store.optouts import OptOuts
from store.outages import OutageStore
from store.outbox import Outbox
from tests.asgi import app_client
from tests.bodies import fault_body, iso, outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.flows import approve, submit_and_approve
from workers.delivery import WAITING_LOOKS, send_batch, sweep_stalled_fanouts
from workers.worker import build_worker

Client = httpx.AsyncClient


async def _outbox(redis: ArqRedis) -> list[Any]:
    """The SMS in the outbox (calls and emails of the other channels are there too)."""
    _, messages = await Outbox(redis).page(0, 10_000)
    messages = [m for m in messages if m.encoding not in ("voice", "email")]
    return messages


async def _deliveries(client: Client, keys: Keys, outage_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/outages/{outage_id}/deliveries", headers=keys.headers("reviewer"))
    return response.json()["notices"]  # type: ignore[no-any-return]


CANCEL = {"type": "cancel", "reason": "Work merged into January"}


async def _publish_with_change(
    client: Client, keys: Keys, body: dict[str, Any], change: dict[str, Any]
) -> dict[str, Any]:
    """An outage published and a change of it approved, nothing run yet."""
    outage = await submit_and_approve(client, keys, body)
    changes = f"/api/v1/outages/{outage['id']}/changes"
    assert (await client.post(changes, json=change, headers=keys.headers("submitter"))).status_code == 201
    await approve(client, keys, outage["id"], "reviewer")
    return outage


def _batch_ctx(redis: ArqRedis, settings: Settings, clock: FakeClock, job_id: str) -> dict[str, Any]:
    """What arq hands the batch and sweep jobs, for calling them one look at a time."""
    provider = OutboxProvider(Outbox(redis), clock, 100)
    channel = sms_channel(settings, redis, clock, provider)
    sender, fanout = Sender(redis, settings, channel, clock), Fanout(redis, settings, clock, channel)
    return {"senders": {"sms": sender}, "fanouts": {"sms": fanout}, "redis": redis,
            "queue_name": settings.queue_name, "clock": clock, "job_try": 1, "job_id": job_id}  # fmt: skip


async def test_planned_outage_reaches_each_affected_customer_once_in_their_language(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(
        redis,
        row("A1", phone(1)),
        row("A2", phone(2), language="en"),
        row("A3", phone(3), area="TA-1"),  # on the feeder and in the area: told once
        row("A4", phone(4), feeder="F2", area="TA-1"),  # only in the area
        row("A5", phone(5), feeder="F2"),  # neither
        row("A6", phone(6), region="440305"),  # same feeder name in another region
        row("A7", phone(7)),  # opted out
    )
    await OptOuts(redis, "sms").set_opted_out(phone(7), True)
    outage = await submit_and_approve(
        client, keys, outage_body(clock(), scope={"feeders": ["F1"], "transformer_areas": ["TA-1"]})
    )
    await run_channels()

    messages = await _outbox(redis)
    assert sorted(m.account for m in messages) == ["A1", "A2", "A3", "A4"]
    by_account = {m.account: m for m in messages}
    assert by_account["A2"].body.startswith("State Grid: Planned outage")
    assert by_account["A1"].body.startswith("【国家电网】计划停电通知")
    assert "95598" in by_account["A1"].body and "Keyuan Road 88-200" in by_account["A1"].body
    assert by_account["A1"].to == phone(1)
    assert by_account["A1"].encoding == "UCS-2"

    [new] = await _deliveries(client, keys, outage["id"])
    sms = new["sms"]
    assert (sms["recipients"], sms["accepted"], sms["opted_out"], sms["queued"], sms["sending"]) == (
        5,
        4,
        1,
        0,
        0,
    )
    assert "sms" in new["handed_over"]


async def test_publishing_the_same_notice_again_sends_nothing_more(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, settings: Settings
) -> None:
    await load(redis, *(row(f"A{n}", phone(n)) for n in range(10)))
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    # The publish job runs again (a redelivery): the ledger keeps every customer at one message.
    await redis.delete(
        f"arq:result:{publish_job_id(outage['id'], 'new')}", store_keys.dispatch_done(outage["id"], "new")
    )
    await enqueue_publish(redis, settings.queue_name, outage["id"], "new")
    await run_channels()
    assert len(await _outbox(redis)) == 10
    [new] = await _deliveries(client, keys, outage["id"])
    assert new["sms"]["accepted"] == 10


async def test_batches_split_a_large_audience(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, settings: Settings
) -> None:
    await load(redis, *(row(f"A{n:03d}", phone(n)) for n in range(25)))
    small_batches = msgspec.structs.replace(settings, sms_batch_size=4)
    await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels(small_batches)
    messages = await _outbox(redis)
    assert sorted(m.account for m in messages) == [f"A{n:03d}" for n in range(25)]


async def test_temporary_goes_to_important_customers_by_default(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("I1", phone(1), important=True), row("P1", phone(2)))
    await submit_and_approve(
        client, keys, outage_body(clock(), kind="temporary", days=2, scope={"feeders": ["F1"]})
    )
    await run_channels()
    assert [m.account for m in await _outbox(redis)] == ["I1"]


async def test_temporary_audience_all_is_a_setting(
    settings: Settings, redis: ArqRedis, clock: FakeClock, keys: Keys, run_channels: Any
) -> None:
    everyone = msgspec.structs.replace(settings, temporary_audience="all")
    await load(redis, row("I1", phone(1), important=True), row("P1", phone(2)))
    async with app_client(everyone, redis, clock) as client:
        await submit_and_approve(
            client, keys, outage_body(clock(), kind="temporary", days=2, scope={"feeders": ["F1"]})
        )
    await run_channels(everyone)
    assert sorted(m.account for m in await _outbox(redis)) == ["I1", "P1"]


async def test_arrears_reaches_only_the_named_account(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(
        redis, row("DEBT", phone(1)), row("NEIGHBOUR", phone(2)), row("OTHER", phone(3), region="440305")
    )
    body = outage_body(clock(), kind="arrears", days=4, scope={"accounts": ["DEBT"]})
    await submit_and_approve(client, keys, body)
    await run_channels()
    [message] = await _outbox(redis)
    assert message.account == "DEBT"
    assert "DEBT" in message.body
    assert "NEIGHBOUR" not in message.body


async def test_quiet_hours_hold_planned_notices_until_eight(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)), row("A2", phone(2)))
    clock.now = clock.now.replace(hour=22)
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    assert await _outbox(redis) == []
    [new] = await _deliveries(client, keys, outage["id"])
    assert (new["sms"]["held"], new["sms"]["queued"]) == (2, 0)

    clock.now = clock.now.replace(hour=7, minute=59) + timedelta(days=1)
    await run_channels()
    assert await _outbox(redis) == []
    clock.advance(minutes=1)
    await run_channels()
    assert sorted(m.account for m in await _outbox(redis)) == ["A1", "A2"]
    [new] = await _deliveries(client, keys, outage["id"])
    assert (new["sms"]["held"], new["sms"]["accepted"]) == (0, 2)


async def test_faults_go_at_once_in_quiet_hours(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)))
    clock.now = clock.now.replace(hour=23)
    await submit_and_approve(client, keys, fault_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    [message] = await _outbox(redis)
    assert "故障停电" in message.body


async def test_changes_go_to_those_told_before_and_only_them(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)), row("A2", phone(2), language="en"))
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    await load(redis, row("LATE", phone(3)))
    new_start = clock() + timedelta(days=10)
    await client.post(
        f"/api/v1/outages/{outage['id']}/changes",
        json={"type": "postpone", "reason": "Heavy rain", "starts_at": iso(new_start)},
        headers=keys.headers("submitter"),
    )
    clock.now = clock.now.replace(hour=23)  # changes are not held by quiet hours
    await approve(client, keys, outage["id"], "reviewer")
    await run_channels()
    postponed = [m for m in await _outbox(redis) if m.notice_id == "c1"]
    assert sorted(m.account for m in postponed) == ["A1", "A2"]
    english = next(m for m in postponed if m.account == "A2")
    assert "is moved to" in english.body and "Heavy rain" in english.body
    notices = await _deliveries(client, keys, outage["id"])
    assert [(n["notice"], n["event"], n["sms"]["accepted"]) for n in notices] == [
        ("new", "new", 2),
        ("c1", "postponed", 2),
    ]


async def test_preview_shows_texts_segments_and_recipients_before_approval(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    await load(
        redis,
        row("A1", phone(1)),
        row("A2", phone(2)),
        row("A3", phone(3), feeder="F9"),
        row("A4", phone(4)),
        # A landlord with two accounts on the feeder: one message.
        row("A5", phone(5)),
        row("A6", phone(5)),
    )
    await OptOuts(redis, "sms").set_opted_out(phone(4), True)
    created = await client.post(
        "/api/v1/outages",
        json=outage_body(clock(), scope={"feeders": ["F1"]}),
        headers=keys.headers("submitter"),
    )
    preview = (
        await client.get(f"/api/v1/outages/{created.json()['id']}/preview", headers=keys.headers("reviewer"))
    ).json()
    reach = {k: preview[k] for k in ("recipients", "opted_out", "reachable", "messages")}
    assert reach == {"recipients": 5, "opted_out": 1, "reachable": 4, "messages": 3}
    by_language = {p["language"]: p for p in preview["sms"]}
    assert by_language["zh-CN"]["encoding"] == "UCS-2"
    assert by_language["zh-CN"]["segments"] == -(-by_language["zh-CN"]["characters"] // 67)
    assert by_language["en"]["text"].startswith("State Grid: Planned outage")
    assert await _outbox(redis) == []


async def test_outbox_page_lists_messages_newest_first_with_status(
    settings: Settings, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    async with app_client(msgspec.structs.replace(settings, dev_pages=True), redis, clock) as client:
        await _outbox_page_lists_messages(client, keys, clock, redis, run_channels)


async def _outbox_page_lists_messages(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)), row("A2", phone(2), language="en"))
    empty = await client.get("/dev/outbox")
    assert empty.status_code == 200
    assert "Nothing yet" in empty.text
    await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    page = await client.get("/dev/outbox")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert phone(1) in page.text and phone(2) in page.text
    assert "State Grid: Planned outage" in page.text
    assert "accepted" in page.text
    assert "2 messages" in page.text
    assert 'id="held"' not in page.text
    # At night a planned notice waits, and the page says so and until when.
    clock.now = clock.now.replace(hour=22)
    await submit_and_approve(
        client, keys, outage_body(clock(), external_id="NIGHT", scope={"feeders": ["F1"]})
    )
    await run_channels()
    night = await client.get("/dev/outbox")
    assert "2 messages held for quiet hours" in night.text
    assert (clock() + timedelta(days=1)).strftime("%Y-%m-%d") + " 08:00" in night.text


async def test_a_change_never_overtakes_its_held_outage_notice(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)))
    clock.now = clock.now.replace(hour=23)
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await client.post(
        f"/api/v1/outages/{outage['id']}/changes",
        json={"type": "postpone", "reason": "Rain", "starts_at": iso(clock() + timedelta(days=10))},
        headers=keys.headers("submitter"),
    )
    await approve(client, keys, outage["id"], "reviewer")
    await run_channels()
    assert await _outbox(redis) == []
    clock.now = clock.now.replace(hour=8, minute=1) + timedelta(days=1)
    await run_channels()
    # Newest first in the outbox: the postponement after the notice it changes.
    assert [m.notice_id for m in await _outbox(redis)] == ["c1", "new"]


async def test_a_change_waiting_for_its_outage_notice_never_uses_up_its_tries(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings
) -> None:
    """However long the outage notice takes (a 1M fan-out draining), its change waits and goes on.

    Each look that finds customers still waiting for the outage notice hands them to a
    continuation job deferred by the usual growing pause, so arq's 12 tries are never used up
    (a Retry each time used them up in 80 ms on a busy machine with no pause configured).
    """
    await load(redis, row("A1", phone(1)), row("A2", phone(2)))
    outage = await _publish_with_change(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}), CANCEL)
    pausing = msgspec.structs.replace(settings, sms_retry_base=2.0)
    ctx = _batch_ctx(redis, pausing, clock, f"sms:{outage['id']}:c1:0")
    for part in range(1, 15):  # more looks than the job's 12 tries
        assert await send_batch(ctx, "sms", outage["id"], "c1", ["A1", "A2"]) == 0
        ctx["job_id"] = f"sms:{outage['id']}:c1:0/{part + 1}"
        score = await redis.zscore(settings.queue_name, ctx["job_id"])
        assert score is not None, ctx["job_id"]
        expected_pause = min(60.0, 2.0 * 2 ** (part - 1))
        assert score / 1000 - time.time() == pytest.approx(expected_pause, abs=5)
    assert await _outbox(redis) == []

    # The outage notice goes out; the next look sends the change to both.
    await ctx["senders"]["sms"].send_batch(outage["id"], "new", ["A1", "A2"], "run-new")
    assert await send_batch(ctx, "sms", outage["id"], "c1", ["A1", "A2"]) == 2
    assert [m.notice_id for m in await _outbox(redis)] == ["c1", "c1", "new", "new"]


async def test_a_change_that_ran_before_its_outage_notice_was_held_waits_with_it(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings
) -> None:
    """Both publish jobs run at once at 23:00: the change's batch may look before the outage
    notice is held for quiet hours. It then holds its waiting customers until just after the
    notice, instead of looking again all night (or, before, using up its tries and dropping them)."""
    await load(redis, row("A1", phone(1)))
    clock.now = clock.now.replace(hour=23)
    postpone = {"type": "postpone", "reason": "Rain", "starts_at": iso(clock() + timedelta(days=10))}
    outage = await _publish_with_change(
        client, keys, outage_body(clock(), scope={"feeders": ["F1"]}), postpone
    )
    ctx = _batch_ctx(redis, settings, clock, f"sms:{outage['id']}:c1:0")
    # The change's batch looks first: the outage notice is neither sent nor held yet.
    assert await send_batch(ctx, "sms", outage["id"], "c1", ["A1"]) == 0
    # Then the outage notice is published into quiet hours, and the change's next look finds it held.
    await ctx["fanouts"]["sms"].publish(notice_of(await OutageStore(redis).get(outage["id"]), "new"))
    ctx["job_id"] = f"sms:{outage['id']}:c1:0/2"
    assert await send_batch(ctx, "sms", outage["id"], "c1", ["A1"]) == 0
    assert await redis.zscore(settings.queue_name, f"sms:{outage['id']}:c1:0/3") is None

    eight = (clock.now + timedelta(days=1)).replace(hour=8, minute=0, second=0)
    assert [b for b, _ in await HeldBatches(redis).due_batches(eight)] == [f"sms:{outage['id']}:new:0"]
    assert [b for b, _ in await HeldBatches(redis).due_batches(eight + timedelta(seconds=1))] == [
        f"sms:{outage['id']}:new:0",
        f"sms:{outage['id']}:c1:0/3",
    ]
    [new, c1] = await _deliveries(client, keys, outage["id"])
    assert (new["sms"]["held"], c1["sms"]["held"]) == (1, 1)


async def test_a_change_stops_looking_after_its_last_look_and_the_sweep_resumes_it_after_the_notice(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings
) -> None:
    """The outage notice's batches gave up (provider down); its change waits a bounded while and
    is then resumed by the sweep only once the notice itself has gone out."""
    await load(redis, row("A1", phone(1)), row("A2", phone(2)))
    outage = await _publish_with_change(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}), CANCEL)
    ctx = _batch_ctx(redis, settings, clock, f"sms:{outage['id']}:c1:0/{WAITING_LOOKS}")
    record = await OutageStore(redis).get(outage["id"])
    for notice_id in ("new", "c1"):
        await ctx["fanouts"]["sms"].publish(notice_of(record, notice_id))
    await redis.delete(settings.queue_name)  # every batch job gave up
    assert await send_batch(ctx, "sms", outage["id"], "c1", ["A1", "A2"]) == 0
    assert await redis.zcard(settings.queue_name) == 0, "no look after the last"

    async def sweep_in(minutes: float) -> list[str]:
        clock.advance(minutes=minutes)
        await redis.delete(settings.queue_name)
        await sweep_stalled_fanouts(ctx)
        return sorted(
            {j.split(":")[2] for j in (m.decode() for m in await redis.zrange(settings.queue_name, 0, -1))}
        )

    assert await sweep_in(6) == []  # first check of both
    assert await sweep_in(6) == ["new"], "the notice is resumed, its change keeps waiting"
    await ctx["senders"]["sms"].send_batch(outage["id"], "new", ["A1", "A2"], "run-new")
    assert await sweep_in(6) == ["c1"], "the notice is out: its change is resumed"
    [new, c1] = await _deliveries(client, keys, outage["id"])
    assert (new["sms"]["accepted"], c1["sms"]["queued"]) == (2, 2)


async def test_each_customer_gets_a_change_only_after_its_outage_notice(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, settings: Settings
) -> None:
    await load(redis, *(row(f"A{n:02d}", phone(n)) for n in range(30)))
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    # The outage notice's publish job is lost; the sweep finds it only after the change is out.
    await redis.delete(settings.queue_name, f"arq:job:{publish_job_id(outage['id'], 'new')}")
    await client.post(
        f"/api/v1/outages/{outage['id']}/changes",
        json={"type": "cancel", "reason": "Work merged into January"},
        headers=keys.headers("submitter"),
    )
    await approve(client, keys, outage["id"], "reviewer")
    clock.advance(minutes=3)
    await run_channels(msgspec.structs.replace(settings, sms_batch_size=4, sms_retry_base=0.0))
    newest_first = [(m.account, m.notice_id) for m in await _outbox(redis)]
    assert len(newest_first) == 60
    for n in range(30):
        account = f"A{n:02d}"
        assert newest_first.index((account, "c1")) < newest_first.index((account, "new")), account
    [_, cancelled] = await _deliveries(client, keys, outage["id"])
    assert cancelled["sms"]["accepted"] == 30


async def test_a_batch_out_of_time_goes_on_in_a_new_job_without_using_a_try(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, settings: Settings
) -> None:
    """A batch slowed down (say by the rate cap) hands its untried rest to a continuation job.

    A Retry would count against the batch's tries and, once they are used up, leave its tail to
    the five-minute stalled-fan-out sweep.
    """
    await load(redis, *(row(f"A{n}", phone(n)) for n in range(4)))
    leaps = iter(range(0, 10**9, 1000))  # every look at the time is 1000 s after the last
    one_at_a_time = msgspec.structs.replace(settings, sms_concurrency=1)
    outage = await submit_and_approve(client, keys, fault_body(clock(), scope={"feeders": ["F1"]}))
    worker = build_worker(one_at_a_time, clock, redis=redis, burst=True, monotonic=lambda: float(next(leaps)))
    await worker.main()
    await worker.on_shutdown(worker.ctx)

    messages = await _outbox(redis)
    assert sorted(m.account for m in messages) == ["A0", "A1", "A2", "A3"]
    batch_jobs = [
        r for r in await redis.all_job_results() if r.function == "send_batch" and r.args[0] == "sms"
    ]
    first = f"sms:{outage['id']}:new:0"
    # Each run sent one message before its time was up and handed on the rest.
    assert sorted((r.job_id, r.result, r.job_try) for r in batch_jobs) == [
        (first, 1, 1),
        (f"{first}/2", 1, 1),
        (f"{first}/3", 1, 1),
        (f"{first}/4", 1, 1),
    ]
    assert (await DeliveryLedger(redis, "sms").counts(outage["id"], "new"))["accepted"] == 4


async def test_accounts_sharing_a_phone_get_one_sms_per_notice_but_account_notices_stay_per_account(
    settings: Settings, client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    # A landlord's number on three accounts; batches of 2 put them in different batch jobs.
    await load(redis, row("L1", phone(5)), row("L2", phone(5)), row("L3", phone(5)), row("T1", phone(6)))
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels(msgspec.structs.replace(settings, sms_batch_size=2))
    messages = await _outbox(redis)
    assert sorted(m.to for m in messages) == [phone(5), phone(6)]
    delivery = (
        await client.get(f"/api/v1/outages/{outage['id']}/deliveries", headers=keys.headers("reviewer"))
    ).json()["notices"][0]["sms"]
    assert (delivery["recipients"], delivery["accepted"], delivery["same_phone"]) == (4, 2, 2)
    # An arrears notice names the account: each account gets its own.
    body = outage_body(clock(), external_id="AR", kind="arrears", days=4, scope={"accounts": ["L1", "L2"]})
    await submit_and_approve(client, keys, body)
    await run_channels()
    arrears = [m for m in await _outbox(redis) if m.outage_id != outage["id"]]
    assert sorted(m.account for m in arrears) == ["L1", "L2"]


async def test_quiet_hours_never_break_a_lead_time_and_the_report_measures_from_the_sms(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("I1", phone(1), important=True), row("I2", phone(2), important=True, feeder="F2"))
    clock.now = clock.now.replace(hour=21, minute=1)
    # Held to 08:00 this would reach customers 13 h before the start: the 24 h rule wins, it goes now.
    tight = outage_body(clock(), kind="temporary", external_id="T1", days=(24 * 60 + 30) / (24 * 60),
                        scope={"feeders": ["F1"]})  # fmt: skip
    tight_outage = await submit_and_approve(client, keys, tight)
    # With room to spare it waits for the morning, and still meets the rule then.
    roomy = outage_body(clock(), kind="temporary", external_id="T2", days=3, scope={"feeders": ["F2"]})
    roomy_outage = await submit_and_approve(client, keys, roomy)
    await run_channels()
    assert [m.account for m in await _outbox(redis)] == ["I1"]
    clock.now = clock.now.replace(hour=8, minute=0) + timedelta(days=1)
    await run_channels()
    # (I1 also gets its 24-hour reminder now, held from 21:31 last night.)
    assert sorted(m.account for m in await _outbox(redis) if m.notice_id == "new") == ["I1", "I2"]
    report = (await client.get("/api/v1/compliance", headers=keys.headers("reviewer"))).json()
    rows = {r["outage_id"]: r for r in report["notices"]}
    tight_row, roomy_row = rows[tight_outage["id"]], rows[roomy_outage["id"]]
    assert tight_row["met"] and tight_row["notified_at"] == tight_outage["published_at"]
    # Measured from the SMS at 08:00, not from the approval at 21:01.
    assert roomy_row["notified_at"].startswith(clock().date().isoformat() + "T08:00")
    assert roomy_row["lead_hours"] == round(
        (clock().replace(hour=21, minute=1) + timedelta(days=2) - clock()).total_seconds() / 3600, 2
    )
    assert roomy_row["met"]
