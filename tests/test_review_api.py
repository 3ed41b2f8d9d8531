"""Approval, rejection, revision and the review queue."""

from datetime import timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis

from tests.bodies import fault_body, outage_body
from tests.conftest import FakeClock, Keys, snapshot

Client = httpx.AsyncClient


async def _submit(client: Client, keys: Keys, body: dict[str, Any], who: str = "submitter") -> dict[str, Any]:
    response = await client.post("/api/v1/outages", json=body, headers=keys.headers(who))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_reviewer_approval_publishes_and_history_records_it(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    outage = await _submit(client, keys, outage_body(clock()))
    clock.advance(minutes=30)
    approved = await client.post(f"/api/v1/outages/{outage['id']}/approve", headers=keys.headers("reviewer"))
    assert approved.status_code == 200, approved.text
    record = approved.json()
    assert record["status"] == "published"
    assert record["published_at"] == clock().isoformat()
    assert [a["role"] for a in record["approvals"]] == ["reviewer"]
    history = (
        await client.get(f"/api/v1/outages/{outage['id']}/history", headers=keys.headers("submitter"))
    ).json()
    assert [(h["action"], h["role"], h["by"]["name"]) for h in history] == [
        ("submitted", "submitter", "submitter"),
        ("approved", "reviewer", "reviewer"),
    ]
    assert history[1]["changed"]["status"] == ["pending_review", "published"]
    assert history[1]["at"] == clock().isoformat()


async def test_submitter_cannot_approve_own_record_even_with_reviewer_role(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _submit(client, keys, outage_body(clock()), who="allroles")
    before = await snapshot(redis)
    response = await client.post(f"/api/v1/outages/{outage['id']}/approve", headers=keys.headers("allroles"))
    assert response.status_code == 403
    assert response.json()["extra"]["rule"] == "four_eyes"
    assert await snapshot(redis) == before


async def test_submitter_role_alone_cannot_approve(client: Client, keys: Keys, clock: FakeClock) -> None:
    outage = await _submit(client, keys, outage_body(clock()))
    response = await client.post(
        f"/api/v1/outages/{outage['id']}/approve", headers=keys.headers("submitter2")
    )
    assert response.status_code == 403
    assert response.json()["extra"]["rule"] == "role"


async def test_approving_twice_is_409_and_changes_nothing(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _submit(client, keys, outage_body(clock()))
    await client.post(f"/api/v1/outages/{outage['id']}/approve", headers=keys.headers("reviewer"))
    before = await snapshot(redis)
    again = await client.post(f"/api/v1/outages/{outage['id']}/approve", headers=keys.headers("reviewer2"))
    assert again.status_code == 409
    assert again.json()["extra"]["rule"] == "nothing_to_review"
    assert await snapshot(redis) == before


async def test_large_area_needs_reviewer_and_emergency_both_recorded(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    outage = await _submit(client, keys, outage_body(clock(), large_area=True))
    path = f"/api/v1/outages/{outage['id']}/approve"
    first = (await client.post(path, headers=keys.headers("reviewer"))).json()
    assert first["status"] == "pending_review"
    assert first["published_at"] is None
    second_reviewer = await client.post(path, headers=keys.headers("reviewer2"))
    assert second_reviewer.status_code == 403
    assert second_reviewer.json()["extra"]["missing"] == ["emergency"]
    published = (await client.post(path, headers=keys.headers("emergency"))).json()
    assert published["status"] == "published"
    assert [(a["role"], a["by"]["name"]) for a in published["approvals"]] == [
        ("reviewer", "reviewer"),
        ("emergency", "emergency"),
    ]


async def test_large_area_emergency_may_approve_first(client: Client, keys: Keys, clock: FakeClock) -> None:
    outage = await _submit(client, keys, outage_body(clock(), large_area=True))
    path = f"/api/v1/outages/{outage['id']}/approve"
    assert (await client.post(path, headers=keys.headers("emergency"))).json()["status"] == "pending_review"
    assert (await client.post(path, headers=keys.headers("reviewer"))).json()["status"] == "published"


async def test_lead_time_is_checked_again_at_approval(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _submit(client, keys, outage_body(clock(), days=7))
    clock.advance(seconds=1)
    before = await snapshot(redis)
    late = await client.post(f"/api/v1/outages/{outage['id']}/approve", headers=keys.headers("reviewer"))
    assert late.status_code == 422
    extra = late.json()["extra"]
    assert extra["rule"] == "lead_time.planned.minimum"
    assert extra["suggested_kind"] == "temporary"
    assert await snapshot(redis) == before


async def test_reject_needs_a_reason_then_submitter_revises_and_resubmits(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _submit(client, keys, outage_body(clock()))
    path = f"/api/v1/outages/{outage['id']}"
    before = await snapshot(redis)
    no_reason = await client.post(f"{path}/reject", json={}, headers=keys.headers("reviewer"))
    assert no_reason.status_code == 400
    assert no_reason.json()["extra"]["field"] == "reason"
    blank = await client.post(f"{path}/reject", json={"reason": "   "}, headers=keys.headers("reviewer"))
    assert blank.status_code == 422
    assert blank.json()["extra"]["field"] == "reason"
    assert await snapshot(redis) == before

    rejected = await client.post(
        f"{path}/reject", json={"reason": "Add the Keyuan Road blocks"}, headers=keys.headers("reviewer")
    )
    assert rejected.json()["status"] == "rejected"
    seen = (await client.get(path, headers=keys.headers("submitter"))).json()
    assert seen["rejection"]["reason"] == "Add the Keyuan Road blocks"
    assert (await client.post(f"{path}/approve", headers=keys.headers("reviewer2"))).status_code == 409

    revised_body = outage_body(clock(), area_description="Keyuan Road 88-200 and blocks 3-9")
    revised = await client.put(path, json=revised_body, headers=keys.headers("submitter"))
    assert revised.status_code == 200, revised.text
    assert revised.json()["status"] == "pending_review"
    assert revised.json()["revision"] == 2
    assert revised.json()["rejection"] is None
    assert (await client.post(f"{path}/approve", headers=keys.headers("reviewer"))).json()[
        "status"
    ] == "published"
    history = (await client.get(f"{path}/history", headers=keys.headers("reviewer"))).json()
    assert [h["action"] for h in history] == ["submitted", "rejected", "revised", "approved"]
    assert history[1]["note"] == "Add the Keyuan Road blocks"
    assert history[2]["changed"]["area_description"] == [
        "Keyuan Road 88-200",
        "Keyuan Road 88-200 and blocks 3-9",
    ]


async def test_revision_is_validated_like_a_submission(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _submit(client, keys, outage_body(clock()))
    before = await snapshot(redis)
    path = f"/api/v1/outages/{outage['id']}"
    too_soon = await client.put(path, json=outage_body(clock(), days=2), headers=keys.headers("submitter"))
    assert too_soon.status_code == 422
    other_id = await client.put(
        path, json=outage_body(clock(), external_id="X"), headers=keys.headers("submitter")
    )
    assert other_id.status_code == 422
    assert other_id.json()["extra"]["field"] == "external_id"
    assert await snapshot(redis) == before


async def test_published_record_cannot_be_revised(client: Client, keys: Keys, clock: FakeClock) -> None:
    outage = await _submit(client, keys, outage_body(clock()))
    await client.post(f"/api/v1/outages/{outage['id']}/approve", headers=keys.headers("reviewer"))
    response = await client.put(
        f"/api/v1/outages/{outage['id']}",
        json=outage_body(clock(), title="New"),
        headers=keys.headers("submitter"),
    )
    assert response.status_code == 409


async def test_fault_is_published_late_with_minutes_recorded(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    outage = await _submit(client, keys, fault_body(clock(), located_minutes_ago=5))
    clock.advance(minutes=27)
    published = (
        await client.post(f"/api/v1/outages/{outage['id']}/approve", headers=keys.headers("reviewer"))
    ).json()
    assert published["status"] == "published"
    assert published["publication_delay_minutes"] == 32
    assert published["minutes_late"] == 12


async def test_fault_published_at_exactly_twenty_minutes_is_not_late(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    outage = await _submit(client, keys, fault_body(clock(), located_minutes_ago=0))
    clock.advance(minutes=20)
    published = (
        await client.post(f"/api/v1/outages/{outage['id']}/approve", headers=keys.headers("reviewer"))
    ).json()
    assert published["minutes_late"] == 0


async def test_review_queue_sorted_by_deadline_with_fault_minutes_left(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    planned = await _submit(client, keys, outage_body(clock(), external_id="P", days=9))
    temporary = await _submit(client, keys, outage_body(clock(), external_id="T", kind="temporary", days=2))
    fault = await _submit(client, keys, fault_body(clock(), located_minutes_ago=6))
    clock.advance(minutes=2)
    queue = (await client.get("/api/v1/reviews", headers=keys.headers("reviewer"))).json()
    assert [item["outage_id"] for item in queue] == [fault["id"], temporary["id"], planned["id"]]
    assert queue[0]["fault_minutes_left"] == 12
    assert queue[0]["awaiting"] == ["reviewer"]
    assert queue[1]["fault_minutes_left"] is None
    submitted = clock() - timedelta(minutes=2)
    assert queue[1]["deadline"] == (submitted + timedelta(days=1)).isoformat()
    assert queue[2]["deadline"] == (submitted + timedelta(days=2)).isoformat()

    await client.post(f"/api/v1/outages/{fault['id']}/approve", headers=keys.headers("reviewer"))
    queue = (await client.get("/api/v1/reviews", headers=keys.headers("reviewer"))).json()
    assert [item["outage_id"] for item in queue] == [temporary["id"], planned["id"]]
    assert (await client.get("/api/v1/reviews", headers=keys.headers("other"))).json() == []
