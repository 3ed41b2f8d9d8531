"""Notices on the clock: reminders, the start, overdue records and the fault alarm (injected clock)."""

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from store.outbox import Outbox
from tests.bodies import fault_body, iso, outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.flows import approve, submit_and_approve

Client = httpx.AsyncClient


async def _change(client: Client, keys: Keys, outage_id: str, body: dict[str, Any]) -> None:
    await client.post(f"/api/v1/outages/{outage_id}/changes", json=body, headers=keys.headers("submitter"))
    await approve(client, keys, outage_id, "reviewer")


async def _messages(redis: ArqRedis, notice_prefix: str) -> list[str]:
    _, messages = await Outbox(redis).page(0, 1000)
    return sorted(m.account for m in messages if m.notice_id.startswith(notice_prefix))


async def test_planned_reminder_goes_24_hours_before_once_to_those_told(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)), row("A2", phone(2), language="en"))
    await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    await load(redis, row("LATE", phone(3)))
    clock.advance(days=7, seconds=-1)
    await run_channels()
    assert await _messages(redis, "reminder") == []
    clock.advance(seconds=1)
    # Every run_channels is a fresh worker: the schedule lives in Redis, not in a worker.
    await run_channels()
    assert await _messages(redis, "reminder") == ["A1", "A2"]
    _, messages = await Outbox(redis).page(0, 10)
    english = next(m for m in messages if m.account == "A2" and m.notice_id.startswith("reminder"))
    assert english.body.startswith("State Grid reminder")
    await run_channels()
    clock.advance(hours=1)
    await run_channels()
    assert await _messages(redis, "reminder") == ["A1", "A2"]


async def test_postponement_moves_the_reminder(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)))
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    await _change(
        client,
        keys,
        outage["id"],
        {"type": "postpone", "reason": "Rain", "starts_at": iso(clock() + timedelta(days=10))},
    )
    await run_channels()
    clock.advance(days=7)
    await run_channels()
    assert await _messages(redis, "reminder") == []
    clock.advance(days=2)
    await run_channels()
    assert await _messages(redis, "reminder") == ["A1"]


async def test_arrears_reminder_30_minutes_before_to_the_account_only(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("DEBT", phone(1)), row("NEXT", phone(2)))
    await submit_and_approve(
        client, keys, outage_body(clock(), kind="arrears", days=4, scope={"accounts": ["DEBT"]})
    )
    await run_channels()
    clock.advance(days=4, minutes=-31)
    await run_channels()
    assert await _messages(redis, "reminder") == []
    clock.advance(minutes=1)
    await run_channels()
    assert await _messages(redis, "reminder") == ["DEBT"]


async def test_reminders_wait_for_the_end_of_quiet_hours(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)))
    starts = clock().replace(hour=2) + timedelta(days=9)
    await submit_and_approve(
        client,
        keys,
        outage_body(
            clock(),
            scope={"feeders": ["F1"]},
            starts_at=iso(starts),
            ends_at=iso(starts + timedelta(hours=4)),
        ),
    )
    await run_channels()
    clock.now = starts - timedelta(hours=24)
    await run_channels()
    assert await _messages(redis, "reminder") == []
    clock.now = clock.now.replace(hour=8)
    await run_channels()
    assert await _messages(redis, "reminder") == ["A1"]


async def test_start_turns_the_outage_in_progress_on_the_web_and_tells_customers(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)))
    outage = await submit_and_approve(client, keys, outage_body(clock(), days=8, scope={"feeders": ["F1"]}))
    await run_channels()
    clock.advance(days=7)
    await run_channels()
    before = await client.get("/api/v1/public/outages")
    assert before.json()["items"][0]["phase"] == "upcoming"
    clock.advance(days=1)
    await run_channels()
    after = await client.get("/api/v1/public/outages", headers={"If-None-Match": before.headers["etag"]})
    assert after.json()["items"][0]["phase"] == "in_progress"
    assert outage["id"] == after.json()["items"][0]["id"]
    assert await _messages(redis, "started") == ["A1"]
    _, messages = await Outbox(redis).page(0, 10)
    assert [m.notice_id.split("-")[0] for m in messages] == ["started", "reminder", "new"]


async def test_overdue_outage_is_flagged_to_its_centre_until_restored(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)), row("A2", phone(2)))
    outage = await submit_and_approve(client, keys, fault_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    await load(redis, row("LATE", phone(3)))
    clock.now = clock.now + timedelta(hours=4)
    await run_channels()
    queue = (
        await client.get(
            "/api/v1/reviews", headers={"Authorization": keys.headers("reviewer")["Authorization"]}
        )
    ).json()
    assert [(q["outage_id"], q["overdue"]) for q in queue] == [(outage["id"], True)]
    assert (await client.get("/api/v1/reviews", headers=keys.headers("other"))).json() == []
    await _change(client, keys, outage["id"], {"type": "restored", "reason": "Cable repaired"})
    await run_channels()
    assert (await client.get("/api/v1/reviews", headers=keys.headers("reviewer"))).json() == []
    # Restoration goes to exactly those told of the outage.
    assert await _messages(redis, "c1") == ["A1", "A2"]
    _, messages = await Outbox(redis).page(0, 10)
    assert all(m.account != "LATE" for m in messages)


async def test_fault_alarm_when_review_is_slow(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any, caplog: pytest.LogCaptureFixture
) -> None:
    created = (
        await client.post(
            "/api/v1/outages",
            json=fault_body(clock(), located_minutes_ago=2),
            headers=keys.headers("submitter"),
        )
    ).json()
    clock.advance(minutes=12)
    queue = (await client.get("/api/v1/reviews", headers=keys.headers("reviewer"))).json()
    assert (queue[0]["fault_minutes_left"], queue[0]["urgent"]) == (6, False)

    def alarms() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "workers.timeline"]

    with caplog.at_level(logging.ERROR, logger="workers.timeline"):
        await run_channels()
        assert alarms() == []
        clock.advance(minutes=1)
        await run_channels()
    assert alarms() == [f"fault {created['id']} still awaits review with 5 minutes or less of its 20 left"]
    queue = (await client.get("/api/v1/reviews", headers=keys.headers("reviewer"))).json()
    assert queue[0]["urgent"] is True
