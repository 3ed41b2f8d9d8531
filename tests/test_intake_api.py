"""Submitting, reading and listing outage records through the dispatch API."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from tests.bodies import fault_body, iso, outage_body
from tests.conftest import FakeClock, Keys, snapshot
from tests.flows import approve

Client = httpx.AsyncClient


async def test_submit_creates_pending_record(client: Client, keys: Keys, clock: FakeClock) -> None:
    response = await client.post(
        "/api/v1/outages", json=outage_body(clock()), headers=keys.headers("submitter")
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["status"] == "pending_review"
    assert record["centre"] == keys.keys["submitter"].centre
    assert record["submitted_by"]["key_id"] == keys.keys["submitter"].key_id
    fetched = await client.get(f"/api/v1/outages/{record['id']}", headers=keys.headers("reviewer"))
    assert fetched.json() == record


async def test_resending_the_same_external_id_returns_the_existing_record(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    body = outage_body(clock())
    first = await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))
    before = await snapshot(redis)
    again = await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter2"))
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert await snapshot(redis) == before


async def test_same_external_id_with_other_content_is_a_conflict(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    await client.post("/api/v1/outages", json=outage_body(clock()), headers=keys.headers("submitter"))
    before = await snapshot(redis)
    other = await client.post(
        "/api/v1/outages", json=outage_body(clock(), title="Other work"), headers=keys.headers("submitter")
    )
    assert other.status_code == 409
    assert other.json()["extra"]["field"] == "external_id"
    assert await snapshot(redis) == before


async def test_external_id_is_unique_per_centre_not_globally(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    ours = await client.post("/api/v1/outages", json=outage_body(clock()), headers=keys.headers("submitter"))
    theirs = await client.post(
        "/api/v1/outages", json=outage_body(clock(), region="440305"), headers=keys.headers("other")
    )
    assert (ours.status_code, theirs.status_code) == (201, 201)
    assert ours.json()["id"] != theirs.json()["id"]


async def test_concurrent_resends_store_one_record(client: Client, keys: Keys, clock: FakeClock) -> None:
    import asyncio

    body = outage_body(clock())
    responses = await asyncio.gather(
        *[client.post("/api/v1/outages", json=body, headers=keys.headers("submitter")) for _ in range(8)]
    )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    listed = await client.get("/api/v1/outages", headers=keys.headers("submitter"))
    assert listed.json()["total"] == 1


def _mutations(now: Any) -> list[tuple[str, dict[str, Any], int, str, str]]:
    base = outage_body(now)
    return [
        ("naive starts_at", {**base, "starts_at": "2026-12-08T08:00:00"}, 400, "starts_at", "timezone_required"),
        ("ends before start", {**base, "ends_at": base["starts_at"]}, 422, "ends_at", "after_starts_at"),
        (
            "fault located in future",
            fault_body(now, fault_located_at=iso(now + timedelta(minutes=10))),
            422,
            "fault_located_at",
            "not_in_future",
        ),
        ("empty scope", {**base, "scope": {}}, 422, "scope", "not_empty"),
        ("unknown field", {**base, "colour": "red"}, 400, "colour", "unknown_field"),
        ("unknown nested field", {**base, "scope": {"feeder": ["F1"]}}, 400, "scope.feeder", "unknown_field"),
        ("missing title", {k: v for k, v in base.items() if k != "title"}, 400, "title", "required"),
        ("unknown kind", {**base, "kind": "blackout"}, 400, "kind", "one_of"),
        ("blank reason", {**base, "reason": "  "}, 422, "reason", "not_blank"),
        (
            "fault located before it started",
            fault_body(now, fault_located_at=iso(now - timedelta(hours=2))),
            422,
            "fault_located_at",
            "after_starts_at",
        ),
        (
            "fault expected back before it was located",
            fault_body(now, ends_at=iso(now - timedelta(minutes=8))),
            422,
            "ends_at",
            "after_fault_located_at",
        ),
        (
            "arrears for an account not in the registry",
            outage_body(now, kind="arrears", days=4, scope={"accounts": ["NOBODY"]}),
            422,
            "scope.accounts",
            "in_registry",
        ),
        ("planned 3 days out", outage_body(now, days=3), 422, "starts_at", "lead_time.planned.minimum"),
        ("temporary 23h out", outage_body(now, kind="temporary", days=23 / 24), 422, "starts_at",
         "lead_time.temporary.minimum"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(14))
async def test_bad_submissions_name_field_and_rule_and_store_nothing(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, case: int
) -> None:
    name, body, status, field, rule = _mutations(clock())[case]
    before = await snapshot(redis)
    response = await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))
    assert response.status_code == status, (name, response.text)
    error = response.json()
    assert error["extra"]["field"] == field, (name, error)
    assert error["extra"]["rule"] == rule, (name, error)
    assert field in error["detail"]
    assert await snapshot(redis) == before


async def test_malformed_json_is_400(client: Client, keys: Keys) -> None:
    response = await client.post(
        "/api/v1/outages",
        content=b"{not json",
        headers={**keys.headers("submitter"), "content-type": "application/json"},
    )
    assert response.status_code == 400


async def test_planned_refusal_says_rule_deadline_earliest_start_and_kind(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    body = outage_body(clock(), days=3)
    response = await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))
    extra = response.json()["extra"]
    assert extra["rule"] == "lead_time.planned.minimum"
    assert extra["publish_by"] == iso(clock() + timedelta(days=3) - timedelta(days=7))
    assert extra["earliest_compliant_start"] == iso(clock() + timedelta(days=7))
    assert extra["suggested_kind"] == "temporary"
    as_temporary = await client.post(
        "/api/v1/outages", json={**body, "kind": "temporary"}, headers=keys.headers("submitter")
    )
    assert as_temporary.status_code == 201


async def test_fault_without_ends_at_gets_service_target_restoration(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    response = await client.post(
        "/api/v1/outages", json=fault_body(clock()), headers=keys.headers("submitter")
    )
    assert response.status_code == 201, response.text
    located = clock() - timedelta(minutes=5)
    assert response.json()["ends_at"] == iso(located + timedelta(hours=3, minutes=45))


async def test_no_key_is_401_and_unknown_key_is_401(client: Client, clock: FakeClock) -> None:
    assert (await client.get("/api/v1/outages")).status_code == 401
    bad = await client.get("/api/v1/outages", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["extra"]["field"] == "Authorization"


async def test_other_regions_records_are_403(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    created = await client.post(
        "/api/v1/outages", json=outage_body(clock()), headers=keys.headers("submitter")
    )
    outage_id = created.json()["id"]
    before = await snapshot(redis)
    other = keys.headers("other")
    assert (await client.get(f"/api/v1/outages/{outage_id}", headers=other)).status_code == 403
    assert (await client.get(f"/api/v1/outages/{outage_id}/history", headers=other)).status_code == 403
    approval = await client.post(f"/api/v1/outages/{outage_id}/approve", headers={**other, "If-Match": '"1"'})
    assert approval.status_code == 403
    assert (await client.get("/api/v1/outages?region=310115", headers=other)).status_code == 403
    submitted_elsewhere = await client.post("/api/v1/outages", json=outage_body(clock()), headers=other)
    assert submitted_elsewhere.status_code == 403
    assert submitted_elsewhere.json()["extra"]["field"] == "region"
    assert await snapshot(redis) == before


async def test_unknown_outage_is_404(client: Client, keys: Keys) -> None:
    assert (await client.get("/api/v1/outages/OUT-nope", headers=keys.headers("reviewer"))).status_code == 404


async def test_list_filters_and_pages(client: Client, keys: Keys, clock: FakeClock) -> None:
    h = keys.headers("submitter")
    for n in range(5):
        await client.post(
            "/api/v1/outages", json=outage_body(clock(), external_id=f"P{n}", days=8 + n), headers=h
        )
    await client.post("/api/v1/outages", json=outage_body(clock(), kind="temporary", days=2), headers=h)
    await client.post("/api/v1/outages", json=fault_body(clock()), headers=h)

    everything = (await client.get("/api/v1/outages", headers=h)).json()
    assert everything["total"] == 7
    page = (await client.get("/api/v1/outages?limit=2&offset=2", headers=h)).json()
    assert [o["id"] for o in page["items"]] == [o["id"] for o in everything["items"][2:4]]
    beyond = (await client.get("/api/v1/outages?offset=10", headers=h)).json()
    assert (beyond["items"], beyond["total"]) == ([], 7)
    # A filter that keeps everything pages the same way as no filter.
    submitted = (await client.get("/api/v1/outages?status=pending_review&limit=2&offset=2", headers=h)).json()
    assert submitted["items"] == page["items"]
    planned = (await client.get("/api/v1/outages?kind=planned", headers=h)).json()
    assert planned["total"] == 5
    assert {o["kind"] for o in planned["items"]} == {"planned"}
    active_now = (await client.get("/api/v1/outages", params={"active_at": iso(clock())}, headers=h)).json()
    assert [o["kind"] for o in active_now["items"]] == ["fault"]
    in_nine_days = iso(clock() + timedelta(days=9, hours=1))
    active_then = (await client.get("/api/v1/outages", params={"active_at": in_nine_days}, headers=h)).json()
    assert [o["external_id"] for o in active_then["items"]] == ["P1"]
    published = (await client.get("/api/v1/outages?status=published", headers=h)).json()
    assert published["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("kind=blackout", "kind"),
        ("active_at=2026-11-23T10:00:00", "active_at"),
    ],
)
async def test_bad_list_queries_name_the_parameter(
    client: Client, keys: Keys, query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/outages?{query}", headers=keys.headers("reviewer"))
    assert response.status_code in (400, 422), response.text
    assert response.json()["extra"]["field"] == field


async def test_body_over_the_size_limit_is_413(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    before = await snapshot(redis)
    body = outage_body(clock(), reason="x" * 1_100_000)
    response = await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))
    assert response.status_code == 413
    assert await snapshot(redis) == before


@pytest.mark.parametrize(
    "text", ["1764547200", "1764547200.5", "20261208T080000+0800", "2026-12-08T08:00:00"]
)
async def test_times_are_rfc3339_with_an_offset_in_bodies_and_queries_alike(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, text: str
) -> None:
    before = await snapshot(redis)
    rule = "timezone_required" if text == "2026-12-08T08:00:00" else "rfc3339"
    as_string = {**outage_body(clock()), "starts_at": text}
    answers = [await client.post("/api/v1/outages", json=as_string, headers=keys.headers("submitter"))]
    if text.replace(".", "").isdigit():
        as_number = {**outage_body(clock()), "starts_at": float(text) if "." in text else int(text)}
        answers.append(
            await client.post("/api/v1/outages", json=as_number, headers=keys.headers("submitter"))
        )
    for path, name in (
        (f"/api/v1/outages?active_at={text}", "active_at"),
        (f"/api/v1/compliance?from={text}", "from"),
        (f"/api/v1/archive?to={text}", "to"),
    ):
        answer = await client.get(path, headers=keys.headers("reviewer"))
        assert answer.json()["extra"]["field"] == name, answer.text
        answers.append(answer)
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.json()["extra"]["rule"] == rule, answer.text
    assert answers[0].json()["extra"]["field"] == "starts_at"
    assert await snapshot(redis) == before


async def test_times_in_answers_are_in_the_deployment_zone_whatever_offset_was_sent(
    client: Client, keys: Keys, clock: FakeClock
) -> None:
    from datetime import UTC

    starts = (clock() + timedelta(days=8)).astimezone(UTC)
    body = outage_body(
        clock(), starts_at=starts.isoformat(), ends_at=(starts + timedelta(hours=8)).isoformat()
    )
    body["starts_at"] = body["starts_at"].replace("+00:00", "Z")
    created = (await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))).json()
    assert created["starts_at"].endswith("+08:00") and created["ends_at"].endswith("+08:00"), created
    assert created["starts_at"] == (clock() + timedelta(days=8)).isoformat()
    # Re-sending the same instants in another offset is the same submission.
    again = await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))
    assert again.status_code == 200
    approved = (await approve(client, keys, created["id"])).json()
    change = {"type": "postpone", "reason": "Rain", "starts_at": (starts + timedelta(days=1)).isoformat()}
    changed = (
        await client.post(
            f"/api/v1/outages/{created['id']}/changes", json=change, headers=keys.headers("submitter")
        )
    ).json()
    assert changed["changes"][0]["starts_at"].endswith("+08:00"), changed
    assert approved["published_at"].endswith("+08:00")
