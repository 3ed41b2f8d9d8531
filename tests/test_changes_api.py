"""Changes of a published outage: notices of their own, reviewed, published before they take effect."""

from datetime import timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis

from tests.bodies import fault_body, iso, outage_body
from tests.conftest import FakeClock, Keys, snapshot
from tests.flows import approve, reject, submit_and_approve

Client = httpx.AsyncClient


async def _published(client: Client, keys: Keys, body: dict[str, Any]) -> dict[str, Any]:
    published = await submit_and_approve(client, keys, body)
    assert published["status"] == "published", published
    return published


async def _change(client: Client, keys: Keys, outage_id: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(
        f"/api/v1/outages/{outage_id}/changes", json=body, headers=keys.headers("submitter")
    )


async def test_postponement_is_reviewed_then_takes_effect(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    outage = await _published(client, keys, outage_body(clock()))
    new_start = clock() + timedelta(days=10)
    submitted = await _change(
        client, keys, outage["id"], {"type": "postpone", "reason": "Rain", "starts_at": iso(new_start)}
    )
    assert submitted.status_code == 201, submitted.text
    pending = submitted.json()
    assert pending["starts_at"] == outage["starts_at"]
    assert pending["changes"][0]["status"] == "pending_review"

    queue = (await client.get("/api/v1/reviews", headers=keys.headers("reviewer"))).json()
    assert [(q["outage_id"], q["notice"], q["change_type"]) for q in queue] == [
        (outage["id"], "c1", "postpone")
    ]
    assert queue[0]["deadline"] == outage["starts_at"]

    approved = (await approve(client, keys, outage["id"], "reviewer")).json()
    assert approved["starts_at"] == iso(new_start)
    # Same duration as announced, moved with the start.
    assert approved["ends_at"] == iso(new_start + timedelta(hours=8))
    assert approved["changes"][0]["status"] == "published"
    assert approved["changes"][0]["published_at"] == iso(clock())
    history = (
        await client.get(f"/api/v1/outages/{outage['id']}/history", headers=keys.headers("reviewer"))
    ).json()
    assert [h["action"] for h in history][-2:] == ["change_submitted:postpone", "approved"]
    assert history[-1]["change_id"] == "c1"
    assert history[-1]["changed"]["starts_at"][1] == iso(new_start)


async def test_postponement_after_the_original_start_is_refused(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _published(client, keys, outage_body(clock()))
    clock.advance(days=8)
    before = await snapshot(redis)
    late = await _change(
        client,
        keys,
        outage["id"],
        {"type": "postpone", "reason": "Rain", "starts_at": iso(clock() + timedelta(days=1))},
    )
    assert late.status_code == 422
    assert late.json()["extra"]["rule"] == "before_start"
    assert "before the outage starts" in late.json()["detail"]
    assert await snapshot(redis) == before


async def test_postponement_approved_after_the_start_is_refused(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _published(client, keys, outage_body(clock()))
    clock.advance(days=7)
    await _change(
        client,
        keys,
        outage["id"],
        {"type": "postpone", "reason": "Rain", "starts_at": iso(clock() + timedelta(days=3))},
    )
    clock.advance(days=1, seconds=1)
    before = await snapshot(redis)
    approved = await approve(client, keys, outage["id"], "reviewer")
    assert approved.status_code == 422
    assert approved.json()["extra"]["rule"] == "before_start"
    assert await snapshot(redis) == before


async def test_cancel_then_any_change_is_409(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _published(client, keys, outage_body(clock()))
    await _change(client, keys, outage["id"], {"type": "cancel", "reason": "Work merged into January"})
    cancelled = (await approve(client, keys, outage["id"], "reviewer")).json()
    assert cancelled["status"] == "cancelled"
    before = await snapshot(redis)
    again = await _change(client, keys, outage["id"], {"type": "cancel", "reason": "again"})
    assert again.status_code == 409
    revise = await client.put(
        f"/api/v1/outages/{outage['id']}", json=outage_body(clock()), headers=keys.headers("submitter")
    )
    assert revise.status_code == 409
    again_approved = await approve(client, keys, outage["id"], "reviewer")
    assert again_approved.status_code == 409
    assert await snapshot(redis) == before


async def test_one_change_at_a_time(client: Client, keys: Keys, clock: FakeClock) -> None:
    outage = await _published(client, keys, outage_body(clock()))
    await _change(client, keys, outage["id"], {"type": "cancel", "reason": "r"})
    second = await _change(client, keys, outage["id"], {"type": "cancel", "reason": "r"})
    assert second.status_code == 409
    assert second.json()["extra"]["change_id"] == "c1"


async def test_rejected_change_leaves_the_published_record_as_it_was(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    outage = await _published(client, keys, outage_body(clock()))
    await _change(client, keys, outage["id"], {"type": "cancel", "reason": "r"})
    rejected = (await reject(client, keys, outage["id"], {"reason": "Customers already told"})).json()
    assert rejected["status"] == "published"
    assert rejected["changes"][0]["status"] == "rejected"
    assert rejected["changes"][0]["rejection"]["reason"] == "Customers already told"
    assert (await _change(client, keys, outage["id"], {"type": "cancel", "reason": "r2"})).status_code == 201


async def test_fault_restoration_delayed_after_expected_end_is_published_and_marked_late(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    outage = await _published(client, keys, fault_body(clock()))
    clock.advance(hours=4)
    new_end = clock() + timedelta(hours=2)
    await _change(
        client, keys, outage["id"], {"type": "delay_restoration", "reason": "Joint", "ends_at": iso(new_end)}
    )
    delayed = (await approve(client, keys, outage["id"], "reviewer")).json()
    assert delayed["ends_at"] == iso(new_end)
    # Expected end was located+3h45 = now-4h+5min+3h45: published 20 minutes after it.
    assert delayed["changes"][0]["minutes_late"] == 20


async def test_restored_with_review(client: Client, keys: Keys, clock: FakeClock) -> None:
    outage = await _published(client, keys, fault_body(clock()))
    clock.advance(hours=2)
    restored_at = clock() - timedelta(minutes=10)
    await _change(
        client,
        keys,
        outage["id"],
        {"type": "restored", "reason": "Cable repaired", "restored_at": iso(restored_at)},
    )
    done = (await approve(client, keys, outage["id"], "reviewer")).json()
    assert done["status"] == "restored"
    assert done["restored_at"] == iso(restored_at)


async def test_bad_changes_name_field_and_rule(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _published(client, keys, outage_body(clock()))
    before = await snapshot(redis)
    start = outage["starts_at"]
    for body, status, field, rule in [
        ({"type": "postpone", "reason": "r"}, 422, "starts_at", "required"),
        ({"type": "postpone", "reason": "r", "starts_at": start}, 422, "starts_at", "later_than_published"),
        ({"type": "cancel", "reason": "r", "ends_at": start}, 422, "ends_at", "not_for_change_type"),
        (
            {"type": "delay_restoration", "reason": "r", "ends_at": start},
            422,
            "ends_at",
            "later_than_published",
        ),
        (
            {"type": "restored", "reason": "r", "restored_at": iso(clock() + timedelta(hours=1))},
            422,
            "restored_at",
            "not_in_future",
        ),
        ({"type": "explode", "reason": "r"}, 400, "type", "one_of"),
        ({"type": "cancel"}, 400, "reason", "required"),
    ]:
        response = await _change(client, keys, outage["id"], body)
        assert response.status_code == status, (body, response.text)
        assert (response.json()["extra"]["field"], response.json()["extra"]["rule"]) == (field, rule), body
    assert await snapshot(redis) == before


async def test_pending_record_cannot_take_a_change(client: Client, keys: Keys, clock: FakeClock) -> None:
    created = (
        await client.post("/api/v1/outages", json=outage_body(clock()), headers=keys.headers("submitter"))
    ).json()
    response = await _change(client, keys, created["id"], {"type": "cancel", "reason": "r"})
    assert response.status_code == 409
    assert "revise" in response.json()["detail"]


async def test_restored_before_the_start_is_refused_with_or_without_restored_at(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _published(client, keys, outage_body(clock()))
    before = await snapshot(redis)
    for body in (
        {"type": "restored", "reason": "never happened"},
        {"type": "restored", "reason": "never happened", "restored_at": iso(clock() - timedelta(minutes=1))},
    ):
        response = await _change(client, keys, outage["id"], body)
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["extra"]["rule"] == "after_starts_at", error
        assert "cancel" in error["detail"], error
    assert await snapshot(redis) == before
