"""The compliance report, its CSV, the archive and the dispatch page with its charts."""

import base64
import csv
import io
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis

from schemas.compliance import NoticeRow, with_delivery
from schemas.kinds import NoticeEvent, OutageKind
from store import keys as store_keys
from store.outages import OutageStore
from tests.bodies import fault_body, iso, outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.flows import approve, submit_and_approve

Client = httpx.AsyncClient


async def _history(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> dict[str, str]:
    await load(redis, row("A1", phone(1)), row("A2", phone(2)))
    ids = {}
    for name, body, review_after in (
        (
            "fault_on_time",
            fault_body(clock(), external_id="F1", located_minutes_ago=0, scope={"feeders": ["F1"]}),
            12,
        ),
        ("fault_late", fault_body(clock(), external_id="F2", located_minutes_ago=0), 35),
        ("planned", outage_body(clock(), external_id="P1", scope={"feeders": ["F1"]}), 0),
    ):
        created = (await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))).json()
        clock.advance(minutes=review_after)
        await approve(client, keys, created["id"], "reviewer")
        clock.advance(minutes=-review_after)
        ids[name] = created["id"]
    await run_channels()
    clock.advance(hours=5)
    change = {"type": "delay_restoration", "reason": "Joint", "ends_at": iso(clock() + timedelta(hours=2))}
    await client.post(
        f"/api/v1/outages/{ids['fault_on_time']}/changes", json=change, headers=keys.headers("submitter")
    )
    await approve(client, keys, ids["fault_on_time"], "reviewer")
    await run_channels()
    return ids


async def test_report_counts_lead_times_fault_delays_and_breaches(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    ids = await _history(client, keys, clock, redis, run_channels)
    report = (await client.get("/api/v1/compliance", headers=keys.headers("reviewer"))).json()
    kinds = {k["kind"]: (k["notices"], k["met"]) for k in report["by_kind"]}
    assert kinds == {"planned": (1, 1), "fault": (2, 1)}
    delays = report["fault_delays"]
    assert (delays["count"], delays["within_20"], delays["max_minutes"]) == (2, 1, 35)
    assert delays["histogram"]["10-15"] == 1 and delays["histogram"]["30-60"] == 1
    breaches = {(b["outage_id"], b["event"], b["minutes_late"]) for b in report["breaches"]}
    assert (ids["fault_late"], "new", 15) in breaches
    assert any(b[0] == ids["fault_on_time"] and b[1] == "restoration_delayed" for b in breaches)
    sent = next(n for n in report["notices"] if n["outage_id"] == ids["planned"])
    assert (sent["recipients"], sent["handed_over"], sent["delivery_rate"]) == (2, 2, 1.0)
    assert (
        await client.get("/api/v1/compliance?region=440305", headers=keys.headers("reviewer"))
    ).status_code == 403


async def test_report_period_and_csv(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await _history(client, keys, clock, redis, run_channels)
    later = iso(clock() + timedelta(days=1))
    empty = (
        await client.get("/api/v1/compliance", params={"from": later}, headers=keys.headers("reviewer"))
    ).json()
    assert empty["notices"] == []
    response = await client.get("/api/v1/compliance?format=csv", headers=keys.headers("reviewer"))
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4
    assert {r["met"] for r in rows} == {"True", "False"}
    naive = await client.get(
        "/api/v1/compliance", params={"from": "2026-11-01T00:00:00"}, headers=keys.headers("reviewer")
    )
    assert naive.status_code in (400, 422)


async def test_archive_has_time_approver_channels_recipients_and_content(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    ids = await _history(client, keys, clock, redis, run_channels)
    archive = (await client.get("/api/v1/archive", headers=keys.headers("reviewer"))).json()
    planned = next(a for a in archive if a["outage_id"] == ids["planned"])
    assert planned["approvers"] == ["reviewer"]
    assert set(planned["channels"]) == {"web", "ivr", "sms", "email", "voice", "webhook", "area_subscribers"}
    assert planned["recipients"] == 2
    assert planned["content"]["zh-CN"].startswith("【国家电网】计划停电通知")
    assert planned["content"]["en"].startswith("State Grid:")
    exported = await client.get("/api/v1/archive?format=csv", headers=keys.headers("reviewer"))
    assert len(list(csv.DictReader(io.StringIO(exported.text)))) == len(archive) == 4


async def test_dispatch_page_draws_fault_delays_against_the_20_minute_line(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await _history(client, keys, clock, redis, run_channels)
    refused = await client.get("/dispatch/compliance")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic")
    basic = "Basic " + base64.b64encode(f"li:{keys.secrets['reviewer']}".encode()).decode()
    page = await client.get("/dispatch/compliance", headers={"Authorization": basic})
    assert page.status_code == 200
    start = page.text.index('<svg id="fault-delay-chart"')
    chart = ET.fromstring(page.text[start : page.text.index("</svg>", start) + 6])
    bars = [e for e in chart.iter("{http://www.w3.org/2000/svg}rect") if e.get("class") == "fault-bar"] or [
        e for e in chart.iter("rect") if e.get("class") == "fault-bar"
    ]
    assert len(bars) == 2
    assert sorted(str(b.get("fill")) for b in bars) == ["#00736b", "#c0392b"]
    assert 'id="limit-line"' in page.text and 'id="lead-time-chart"' in page.text


def test_delivery_rate_uses_receipts_when_there_are_any_and_flags_low_ones() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    now = datetime(2026, 11, 23, tzinfo=ZoneInfo("Asia/Shanghai"))
    base = NoticeRow(outage_id="O", notice="new", event=NoticeEvent.NEW, kind=OutageKind.PLANNED, title="t",
                     published_at=now, starts_at=now, met=True)  # fmt: skip
    handed = with_delivery(base, {"recipients": 10, "opted_out": 2, "accepted": 8}, 0.95)
    assert (handed.reachable, handed.delivery_rate, handed.below_threshold) == (8, 1.0, False)
    receipts = with_delivery(base, {"recipients": 10, "delivered": 7, "undelivered": 3}, 0.95)
    assert (receipts.delivery_rate, receipts.below_threshold) == (0.7, True)
    assert with_delivery(base, {}, 0.95).delivery_rate is None


async def test_a_period_reads_the_records_with_a_notice_published_in_it(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    start = clock()
    ids = await _history(client, keys, clock, redis, run_channels)
    store = OutageStore(redis)
    # The change of the on-time fault went out 5 hours later: only that record has a notice then.
    later = await store.published_between("310115", start + timedelta(hours=4), start + timedelta(hours=6))
    assert [o.id for o in later] == [ids["fault_on_time"]]
    first_hour = await store.published_between(
        "310115", start - timedelta(minutes=1), start + timedelta(hours=1)
    )
    assert sorted(o.id for o in first_hour) == sorted(ids.values())
    assert await store.published_between("440305", start, start + timedelta(hours=6)) == []

    report = (
        await client.get(
            "/api/v1/compliance",
            params={"from": iso(start + timedelta(hours=4)), "to": iso(start + timedelta(hours=6))},
            headers=keys.headers("reviewer"),
        )
    ).json()
    assert [(n["outage_id"], n["notice"]) for n in report["notices"]] == [(ids["fault_on_time"], "c1")]


async def test_records_published_before_the_index_existed_are_indexed_once(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    start = clock()
    ids = await _history(client, keys, clock, redis, run_channels)
    # As an earlier version left the store: records, no publication index.
    await redis.delete(store_keys.region_notices("310115"), store_keys.region_notices_indexed("310115"))
    found = await OutageStore(redis).published_between("310115", start - timedelta(minutes=1), clock())
    assert sorted(o.id for o in found) == sorted(ids.values())
    assert await redis.zcard(store_keys.region_notices("310115")) == 4  # three notices and one change
    assert await redis.exists(store_keys.region_notices_indexed("310115"))


async def test_csv_exports_neutralise_spreadsheet_formulas(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    body = outage_body(clock(), external_id="CSV-1", title='=HYPERLINK("http://x")')
    body.update(reason="+1+cmd|' /C calc'!A0", area_description="@SUM(A1)")
    await submit_and_approve(client, keys, body)
    body = outage_body(clock(), external_id="CSV-2", title="-2+3", reason="\tx", area_description="\rnope")
    await submit_and_approve(client, keys, body)
    await run_channels()
    for path in ("/api/v1/archive?format=csv", "/api/v1/compliance?format=csv"):
        exported = await client.get(path, headers=keys.headers("reviewer"))
        cells = [cell for row in csv.reader(io.StringIO(exported.text)) for cell in row]
        if "compliance" in path:
            titles = {row["title"] for row in csv.DictReader(io.StringIO(exported.text))}
            assert titles == {'\'=HYPERLINK("http://x")', "'-2+3"}
        dangerous = [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")]
        assert dangerous == [], (path, dangerous)
        # A cell starting with '-' is a formula too unless it is a plain number.
        assert all(not c.startswith("-") or c.lstrip("-").replace(".", "", 1).isdigit() for c in cells)


async def test_the_period_is_answered_in_the_deployment_zone(client: Client, keys: Keys) -> None:
    answer = await client.get(
        "/api/v1/compliance",
        params={"from": "2026-11-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"},
        headers=keys.headers("reviewer"),
    )
    report = answer.json()
    assert (report["period_from"], report["period_to"]) == (
        "2026-11-01T08:00:00+08:00",
        "2026-11-20T08:00:00+08:00",
    )
