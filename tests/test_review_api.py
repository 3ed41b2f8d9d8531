"""Approval, rejection, revision and the review queue."""

from datetime import timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis

from tests.bodies import fault_body, iso, outage_body
from tests.conftest import FakeClock, Keys, snapshot
from tests.customers import load, phone, row
from tests.flows import approve, reject

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
    approved = await approve(client, keys, outage["id"], "reviewer")
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
    response = await approve(client, keys, outage["id"], "allroles")
    assert response.status_code == 403
    assert response.json()["extra"]["rule"] == "four_eyes"
    assert await snapshot(redis) == before


async def test_submitter_role_alone_cannot_approve(client: Client, keys: Keys, clock: FakeClock) -> None:
    outage = await _submit(client, keys, outage_body(clock()))
    response = await approve(client, keys, outage["id"], "submitter2")
    assert response.status_code == 403
    assert response.json()["extra"]["rule"] == "role"


async def test_approving_twice_is_409_and_changes_nothing(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _submit(client, keys, outage_body(clock()))
    await approve(client, keys, outage["id"], "reviewer")
    before = await snapshot(redis)
    again = await approve(client, keys, outage["id"], "reviewer2")
    assert again.status_code == 409
    assert again.json()["extra"]["rule"] == "nothing_to_review"
    assert await snapshot(redis) == before


async def test_large_area_needs_reviewer_and_emergency_both_recorded(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    outage = await _submit(client, keys, outage_body(clock(), large_area=True))
    first = (await approve(client, keys, outage["id"], "reviewer")).json()
    assert first["status"] == "pending_review"
    assert first["published_at"] is None
    second_reviewer = await approve(client, keys, outage["id"], "reviewer2")
    assert second_reviewer.status_code == 403
    assert second_reviewer.json()["extra"]["missing"] == ["emergency"]
    published = (await approve(client, keys, outage["id"], "emergency")).json()
    assert published["status"] == "published"
    assert [(a["role"], a["by"]["name"]) for a in published["approvals"]] == [
        ("reviewer", "reviewer"),
        ("emergency", "emergency"),
    ]


async def test_large_area_emergency_may_approve_first(client: Client, keys: Keys, clock: FakeClock) -> None:
    outage = await _submit(client, keys, outage_body(clock(), large_area=True))
    assert (await approve(client, keys, outage["id"], "emergency")).json()["status"] == "pending_review"
    assert (await approve(client, keys, outage["id"], "reviewer")).json()["status"] == "published"


async def test_lead_time_is_checked_again_at_approval(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _submit(client, keys, outage_body(clock(), days=7))
    clock.advance(seconds=1)
    before = await snapshot(redis)
    late = await approve(client, keys, outage["id"], "reviewer")
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
    no_reason = await reject(client, keys, outage["id"], {}, "reviewer")
    assert no_reason.status_code == 400
    assert no_reason.json()["extra"]["field"] == "reason"
    blank = await reject(client, keys, outage["id"], {"reason": "   "}, "reviewer")
    assert blank.status_code == 422
    assert blank.json()["extra"]["field"] == "reason"
    assert await snapshot(redis) == before

    rejected = await reject(client, keys, outage["id"], {"reason": "Add the Keyuan Road blocks"}, "reviewer")
    assert rejected.json()["status"] == "rejected"
    seen = (await client.get(path, headers=keys.headers("submitter"))).json()
    assert seen["rejection"]["reason"] == "Add the Keyuan Road blocks"
    assert (await approve(client, keys, outage["id"], "reviewer2")).status_code == 409

    revised_body = outage_body(clock(), area_description="Keyuan Road 88-200 and blocks 3-9")
    revised = await client.put(path, json=revised_body, headers=keys.headers("submitter"))
    assert revised.status_code == 200, revised.text
    assert revised.json()["status"] == "pending_review"
    assert revised.json()["revision"] == 2
    assert revised.json()["rejection"] is None
    assert (await approve(client, keys, outage["id"], "reviewer")).json()["status"] == "published"
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
    await approve(client, keys, outage["id"], "reviewer")
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
    published = (await approve(client, keys, outage["id"], "reviewer")).json()
    assert published["status"] == "published"
    assert published["publication_delay_minutes"] == 32
    assert published["minutes_late"] == 12


async def test_fault_published_at_exactly_twenty_minutes_is_not_late(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    outage = await _submit(client, keys, fault_body(clock(), located_minutes_ago=0))
    clock.advance(minutes=20)
    published = (await approve(client, keys, outage["id"], "reviewer")).json()
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

    await approve(client, keys, fault["id"], "reviewer")
    queue = (await client.get("/api/v1/reviews", headers=keys.headers("reviewer"))).json()
    assert [item["outage_id"] for item in queue] == [temporary["id"], planned["id"]]
    assert (await client.get("/api/v1/reviews", headers=keys.headers("other"))).json() == []


async def test_approval_binds_to_the_revision_the_reviewer_read(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    await load(redis, *(row(f"W{n}", phone(n), feeder="WIDE", area="TA-W") for n in range(1, 6)))
    await load(redis, row("N1", phone(90), feeder="NARROW", area="TA-N"))
    body = outage_body(clock(), scope={"feeders": ["NARROW"]})
    outage = await _submit(client, keys, body)
    path = f"/api/v1/outages/{outage['id']}"
    preview = await client.get(f"{path}/preview", headers=keys.headers("reviewer"))
    assert preview.json()["recipients"] == 1
    read_version = preview.headers["etag"]
    assert read_version == (await client.get(path, headers=keys.headers("reviewer"))).headers["etag"]
    assert preview.json()["version"] == read_version.strip('"')
    # The submitter widens the scope while the reviewer is reading.
    widened = {**body, "scope": {"feeders": ["NARROW", "WIDE"]}}
    assert (await client.put(path, json=widened, headers=keys.headers("submitter"))).status_code == 200
    before = await snapshot(redis)
    reviewer = keys.headers("reviewer")
    stale = await client.post(f"{path}/approve", headers={**reviewer, "If-Match": read_version})
    assert stale.status_code == 412, stale.text
    assert stale.json()["extra"] == {"field": "If-Match", "rule": "version_matches", "current_version": "2"}
    for headers in ({}, {"If-Match": "*"}, {"If-Match": 'W/"2"'}):
        refused = await client.post(f"{path}/approve", headers={**reviewer, **headers})
        assert refused.status_code == (412 if headers.get("If-Match", "").startswith("W/") else 428), headers
    stale_reject = await client.post(
        f"{path}/reject", json={"reason": "no", "revision": "1"}, headers=reviewer
    )
    assert stale_reject.status_code == 412
    assert await snapshot(redis) == before
    # Read again: the preview now says 6 and the approval goes through with the new version.
    fresh = await client.get(f"{path}/preview", headers=reviewer)
    assert (fresh.json()["recipients"], fresh.headers["etag"]) == (6, '"2"')
    approved = await client.post(f"{path}/approve", json={"revision": "2"}, headers=reviewer)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"


async def test_a_change_is_approved_only_as_read(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    outage = await _submit(client, keys, outage_body(clock()))
    assert (await approve(client, keys, outage["id"])).status_code == 200
    path = f"/api/v1/outages/{outage['id']}"
    submitter = keys.headers("submitter")
    first = {"type": "postpone", "reason": "Rain", "starts_at": iso(clock() + timedelta(days=9))}
    assert (await client.post(f"{path}/changes", json=first, headers=submitter)).status_code == 201
    read = await client.get(path, headers=keys.headers("reviewer"))
    assert read.headers["etag"] == '"1.c1"'
    assert (await reject(client, keys, outage["id"], {"reason": "Wrong day"})).status_code == 200
    second = {"type": "cancel", "reason": "Work dropped"}
    assert (await client.post(f"{path}/changes", json=second, headers=submitter)).status_code == 201
    before = await snapshot(redis)
    stale = await client.post(
        f"{path}/approve", headers={**keys.headers("reviewer"), "If-Match": read.headers["etag"]}
    )
    assert stale.status_code == 412
    assert stale.json()["extra"]["current_version"] == "1.c2"
    assert await snapshot(redis) == before
    # Both tags may be sent; the current one counts.
    both = await client.post(
        f"{path}/approve", headers={**keys.headers("reviewer"), "If-Match": '"1.c1", "1.c2"'}
    )
    assert both.json()["status"] == "cancelled"
