"""Customers' fault reports through the dispatch API: explained by a published outage, else a
repair order on the seed's clocks; unexplained reports grouped into suspected outages."""

from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from schemas.settings import Settings
from services.fault_reports import FaultReportService
from services.outages import OutageService
from tests.bodies import fault_body, iso, outage_body
from tests.conftest import FakeClock, Keys, snapshot
from tests.customers import load, phone, row
from tests.flows import submit_and_approve

Client = httpx.AsyncClient
REPORTS, REPAIRS, SUSPECTS = "/api/v1/reports", "/api/v1/repairs", "/api/v1/suspected-outages"


async def _report(client: Client, keys: Keys, body: dict[str, Any], key: str = "agent") -> httpx.Response:
    return await client.post(REPORTS, json=body, headers=keys.headers(key))


@pytest.fixture
async def customers(redis: ArqRedis) -> None:
    await load(
        redis,
        row("A1", phone(1), feeder="F1", area="TA-1"),
        row("A2", phone(2), feeder="F1", area="TA-1"),
        row("A3", phone(3), feeder="F1", area="TA-1"),
        row("A4", phone(4), feeder="F1", area="TA-2"),
        row("A5", phone(5), feeder="F1", area="TA-3"),
        row("VIP", phone(6), feeder="F2", area="TA-9", important=True),
        row("DEBTOR", phone(7), feeder="F2", area="TA-9"),
        row("FAR", phone(8), region="440305", feeder="F1", area="TA-1"),
    )


async def test_a_report_covered_by_a_published_fault_is_explained_and_counted_on_it(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, customers: None
) -> None:
    outage = await submit_and_approve(client, keys, fault_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    response = await _report(client, keys, {"account": "A1", "symptom": "no_power"})
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["report"]["outcome"] == "explained"
    assert receipt["report"]["outage_id"] == outage["id"]
    assert receipt["repair_id"] is None
    assert "Replacing switchgear" in " ".join(receipt["explanation"])
    assert (await client.get(REPAIRS, headers=keys.headers("reviewer"))).json() == []
    await _report(client, keys, {"account": "A4"})
    record = (await client.get(f"/api/v1/outages/{outage['id']}", headers=keys.headers("reviewer"))).json()
    assert record["reports"] == 2


async def test_an_unexplained_report_opens_one_order_per_customer_until_it_is_resolved(
    client: Client, keys: Keys, clock: FakeClock, customers: None
) -> None:
    first = (await _report(client, keys, {"account": "A1"})).json()
    assert first["report"]["outcome"] == "repair" and first["urgent"] is False
    clock.advance(minutes=30)
    again = (await _report(client, keys, {"phone": phone(1), "symptom": "hazard"})).json()
    assert again["repair_id"] == first["repair_id"]
    [order] = (await client.get(REPAIRS, headers=keys.headers("reviewer"))).json()
    assert order["reports"] == [first["report"]["id"], again["report"]["id"]]
    # A hazard reported later makes the whole order urgent.
    assert order["urgency"] == "urgent"
    assert order["status"] == "open" and order["dispatched_at"] == order["created_at"]
    resolved = await client.post(
        f"{REPAIRS}/{order['id']}/resolve",
        json={"resolution": "fuse replaced"},
        headers=keys.headers("reviewer"),
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    after = (await _report(client, keys, {"account": "A1"})).json()
    assert after["repair_id"] not in (None, first["repair_id"])


async def test_important_customers_and_hazards_are_urgent_and_first_in_the_queue(
    client: Client, keys: Keys, clock: FakeClock, customers: None
) -> None:
    general = (await _report(client, keys, {"account": "A1"})).json()
    clock.advance(minutes=1)
    vip = (await _report(client, keys, {"account": "VIP"})).json()
    assert vip["urgent"] is True and general["urgent"] is False
    queue = (await client.get(REPAIRS, headers=keys.headers("submitter"))).json()
    assert [o["id"] for o in queue] == [vip["repair_id"], general["repair_id"]]


async def test_acceptance_clock_raises_the_alarm_after_three_minutes(
    client: Client, keys: Keys, clock: FakeClock, service: OutageService, redis: ArqRedis, customers: None
) -> None:
    reports = FaultReportService(service, redis)
    repair_id = (await _report(client, keys, {"account": "A1"})).json()["repair_id"]
    clock.advance(minutes=2, seconds=59)
    assert await reports.flag_overdue_acceptances() == []
    clock.advance(seconds=1)
    assert await reports.flag_overdue_acceptances() == [repair_id]
    assert await reports.flag_overdue_acceptances() == [], "an alarm fires once"
    accepted = await client.post(f"{REPAIRS}/{repair_id}/accept", headers=keys.headers("reviewer"))
    assert accepted.status_code == 200
    assert accepted.json()["accept_overdue"] is True and accepted.json()["status"] == "accepted"
    again = await client.post(f"{REPAIRS}/{repair_id}/accept", headers=keys.headers("reviewer"))
    assert again.status_code == 409
    metrics = (await client.get("/metrics")).text
    assert "outage_repair_acceptance_alarms_total 1.0" in metrics


async def test_an_order_accepted_in_time_is_not_overdue(
    client: Client, keys: Keys, clock: FakeClock, customers: None
) -> None:
    repair_id = (await _report(client, keys, {"account": "A2"})).json()["repair_id"]
    clock.advance(minutes=2)
    accepted = (await client.post(f"{REPAIRS}/{repair_id}/accept", headers=keys.headers("reviewer"))).json()
    assert accepted["accept_overdue"] is False


async def test_an_accounts_own_stoppage_is_told_only_to_a_vouched_reporter(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, customers: None,
    service: OutageService,
) -> None:  # fmt: skip
    body = outage_body(clock(), kind="arrears", days=4, reason="欠费三个月", scope={"accounts": ["DEBTOR"]})
    arrears = await submit_and_approve(client, keys, body)
    await run_channels()
    clock.advance(days=4, minutes=1)
    # A 95598 agent is vouched for: told of the stoppage, no crew sent.
    agent = (await _report(client, keys, {"account": "DEBTOR"})).json()
    assert agent["report"]["outcome"] == "explained" and agent["report"]["outage_id"] == arrears["id"]
    reports = FaultReportService(service, redis)
    from schemas.fault_reports import ReportChannel, ReportSubmission

    # The account's own phone (caller ID) is vouched for too.
    own = await reports.report(ReportSubmission(account="DEBTOR"), ReportChannel.SMS, caller_phone=phone(7))
    assert own.explanation and "欠费" in own.explanation[0]
    # Anyone else naming the account learns nothing of it; dispatch sees what covers it.
    stranger = await reports.report(
        ReportSubmission(account="DEBTOR"), ReportChannel.SMS, caller_phone=phone(1)
    )
    assert stranger.explanation == [] and stranger.repair_id is not None
    order = (await client.get(f"{REPAIRS}/{stranger.repair_id}", headers=keys.headers("reviewer"))).json()
    assert order["covered_by"] == arrears["id"]


async def test_reports_from_n_accounts_of_an_area_within_the_window_make_a_suspected_outage(
    client: Client, keys: Keys, clock: FakeClock, settings: Settings, customers: None
) -> None:
    assert settings.report_group_accounts == 3
    await _report(client, keys, {"account": "A1"})
    await _report(client, keys, {"account": "A1", "description": "still out"})  # the same account: once
    clock.advance(minutes=5)
    await _report(client, keys, {"account": "A2"})
    assert (await client.get(SUSPECTS, headers=keys.headers("reviewer"))).json() == []
    clock.advance(minutes=10)  # A1's first report is now 15 minutes old: at the window's edge
    await _report(client, keys, {"account": "A3", "symptom": "hazard"})
    [suspect] = (await client.get(SUSPECTS, headers=keys.headers("reviewer"))).json()
    assert suspect["level"] == "transformer_area" and suspect["transformer_area"] == "TA-1"
    assert (suspect["accounts"], suspect["reports"], suspect["urgent"]) == (3, 4, 1)
    assert suspect["customers"] == 3 and suspect["share"] == 1.0
    assert suspect["draft"]["transformer_areas"] == ["TA-1"] and suspect["status"] == "open"
    # The other region sees none of it.
    assert (await client.get(SUSPECTS, headers=keys.headers("other"))).json() == []


async def test_a_report_outside_the_window_does_not_count(
    client: Client, keys: Keys, clock: FakeClock, customers: None
) -> None:
    await _report(client, keys, {"account": "A1"})
    clock.advance(minutes=15, seconds=1)
    await _report(client, keys, {"account": "A2"})
    await _report(client, keys, {"account": "A3"})
    suspects = (await client.get(SUSPECTS, headers=keys.headers("reviewer"))).json()
    assert suspects == []


async def test_reports_across_areas_of_a_feeder_make_a_suspected_feeder_outage(
    client: Client, keys: Keys, clock: FakeClock, customers: None
) -> None:
    for account in ("A1", "A4", "A5"):  # TA-1, TA-2, TA-3, all on F1
        await _report(client, keys, {"account": account})
    [suspect] = (await client.get(SUSPECTS, headers=keys.headers("reviewer"))).json()
    assert suspect["level"] == "feeder" and suspect["feeder"] == "F1"
    assert suspect["draft"]["feeders"] == ["F1"] and suspect["customers"] == 5


async def test_confirming_a_suspect_submits_a_fault_for_review_and_dismissing_closes_it(
    client: Client, keys: Keys, clock: FakeClock, customers: None
) -> None:
    for account in ("A1", "A2", "A3"):
        await _report(client, keys, {"account": account})
    [suspect] = (await client.get(SUSPECTS, headers=keys.headers("reviewer"))).json()
    located = {"fault_located_at": iso(clock())}
    refused = await client.post(
        f"{SUSPECTS}/{suspect['id']}/confirm", json=located, headers=keys.headers("reviewer")
    )
    assert refused.status_code == 403, "confirming submits a record: the submitter role"
    confirmed = await client.post(
        f"{SUSPECTS}/{suspect['id']}/confirm", json=located, headers=keys.headers("submitter")
    )
    assert confirmed.status_code == 201, confirmed.text
    record = confirmed.json()
    assert record["kind"] == "fault" and record["status"] == "pending_review"
    assert record["scope"]["transformer_areas"] == ["TA-1"]
    again = await client.post(
        f"{SUSPECTS}/{suspect['id']}/confirm", json=located, headers=keys.headers("submitter")
    )
    assert again.status_code == 409
    # A new report after confirmation opens a new suspect only with new reports; dismiss one.
    clock.advance(minutes=20)
    for account in ("A1", "A2", "A3"):
        await _report(client, keys, {"account": account, "description": "again"})
    fresh = [
        s
        for s in (await client.get(SUSPECTS, headers=keys.headers("reviewer"))).json()
        if s["status"] == "open"
    ]
    assert len(fresh) == 1 and fresh[0]["id"] != suspect["id"]
    dismissed = await client.post(
        f"{SUSPECTS}/{fresh[0]['id']}/dismiss",
        json={"reason": "a meter fault"},
        headers=keys.headers("reviewer"),
    )
    assert dismissed.json()["status"] == "dismissed" and dismissed.json()["dismissal"] == "a meter fault"


@pytest.mark.parametrize(
    ("key", "body", "status", "field"),
    [
        ("agent", {"account": "A1", "symptom": "smoke"}, 400, "symptom"),
        ("agent", {"account": "A1", "colour": "red"}, 400, "colour"),
        ("agent", {"account": "A1", "description": "x" * 501}, 400, "description"),
        ("agent", {"account": 12345}, 400, "account"),
        ("agent", {"account": "NOBODY"}, 422, "account"),
        ("agent", {}, 422, "account"),
        ("agent", {"phone": "not a phone"}, 422, "phone"),
        ("agent", {"phone": phone(99)}, 422, "account"),
        ("agent", {"account": "FAR"}, 403, "account"),
        ("submitter", {"account": "A1"}, 403, "Authorization"),
    ],
)
async def test_bad_reports_are_refused_naming_the_field_and_change_nothing(
    client: Client, keys: Keys, redis: ArqRedis, customers: None, key: str, body: dict[str, Any], status: int,
    field: str,
) -> None:  # fmt: skip
    before = await snapshot(redis)
    response = await _report(client, keys, body, key)
    assert response.status_code == status, response.text
    assert field in response.text
    assert await snapshot(redis) == before


async def test_dispatch_cannot_read_or_act_on_another_regions_orders(
    client: Client, keys: Keys, customers: None
) -> None:
    repair_id = (await _report(client, keys, {"account": "A1"})).json()["repair_id"]
    assert (await client.get(f"{REPAIRS}/{repair_id}", headers=keys.headers("other"))).status_code == 404
    assert (
        await client.post(f"{REPAIRS}/{repair_id}/accept", headers=keys.headers("other"))
    ).status_code == 404
    assert (await client.get(REPAIRS, headers=keys.headers("agent"))).status_code == 403
    bad = await client.post(
        f"{REPAIRS}/{repair_id}/resolve", json={"resolution": ""}, headers=keys.headers("reviewer")
    )
    assert bad.status_code == 400 and "resolution" in bad.text
    assert (await client.get(f"{REPAIRS}/{repair_id}", headers=keys.headers("reviewer"))).json()[
        "status"
    ] == "open"


async def test_a_planned_outage_days_away_does_not_explain_no_power_now(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any, customers: None
) -> None:
    await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    receipt = (await _report(client, keys, {"account": "A1"})).json()
    assert receipt["report"]["outcome"] == "repair"
    clock.advance(days=8, minutes=1)
    assert (await _report(client, keys, {"account": "A2"})).json()["report"]["outcome"] == "explained"


async def test_the_worker_raises_the_acceptance_alarm_on_its_own(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any, customers: None
) -> None:
    repair_id = (await _report(client, keys, {"account": "A1"})).json()["repair_id"]
    clock.advance(minutes=3)
    await run_channels()
    metrics = (await client.get("/metrics")).text
    assert "outage_repair_acceptance_alarms_total 1.0" in metrics
    order = (await client.get(f"{REPAIRS}/{repair_id}", headers=keys.headers("reviewer"))).json()
    assert order["accept_overdue"] is True


async def test_the_public_form_takes_a_report_and_answers_on_the_page(
    client: Client, keys: Keys, redis: ArqRedis, customers: None
) -> None:
    form = await client.get("/report")
    assert form.status_code == 200 and 'id="report-form"' in form.text
    sent = await client.post(
        "/report", data={"account": "A1", "symptom": "hazard", "description": "电线掉了"}
    )
    assert sent.status_code == 201, sent.text
    assert "RO-" in sent.text and "紧急" in sent.text
    [order] = (await client.get(REPAIRS, headers=keys.headers("reviewer"))).json()
    assert order["urgency"] == "urgent" and order["account"] == "A1"
    before = await snapshot(redis)
    bad = await client.post("/report", data={"account": "A2", "symptom": "smoke"})
    assert bad.status_code == 400 and "symptom" in bad.text and 'value="A2"' in bad.text
    unknown = await client.post("/report", data={"account": "NOBODY"}, params={"lang": "en"})
    assert unknown.status_code == 422 and "NOBODY" in unknown.text and "could not be taken" in unknown.text
    assert await snapshot(redis) == before


async def _outbox_to(redis: ArqRedis, to: str) -> list[Any]:
    from store.outbox import Outbox

    _, messages = await Outbox(redis).page(0, 500)
    return [m for m in messages if m.to == to]


async def test_a_reporter_hears_the_restoration_of_an_outage_whose_notice_was_not_theirs(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, customers: None
) -> None:
    # A temporary outage is owed to important customers only: A1 is not told of it.
    body = outage_body(clock(), kind="temporary", days=1.5, scope={"feeders": ["F1"]})
    outage = await submit_and_approve(client, keys, body)
    await run_channels()
    assert await _outbox_to(redis, phone(1)) == []
    clock.advance(days=1.5, minutes=5)
    explained = (await _report(client, keys, {"account": "A1"})).json()
    assert explained["report"]["outage_id"] == outage["id"]
    changes = f"/api/v1/outages/{outage['id']}/changes"
    restored = {"type": "restored", "reason": "Work finished early", "restored_at": iso(clock())}
    assert (await client.post(changes, json=restored, headers=keys.headers("submitter"))).status_code == 201
    from tests.flows import approve

    await approve(client, keys, outage["id"], "reviewer")
    await run_channels()
    [message] = await _outbox_to(redis, phone(1))
    assert message.outage_id == outage["id"] and message.notice_id != "new"
    # A2 on the same feeder neither reported nor is important: not told.
    assert await _outbox_to(redis, phone(2)) == []


async def test_confirmation_tells_the_reporters_and_the_published_fault_reaches_them(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, customers: None
) -> None:
    for account in ("A1", "A2", "A3"):
        await _report(client, keys, {"account": account})
    [suspect] = (await client.get(SUSPECTS, headers=keys.headers("reviewer"))).json()
    assert suspect["report_accounts"] == ["A1", "A2", "A3"]
    confirmed = await client.post(
        f"{SUSPECTS}/{suspect['id']}/confirm",
        json={"fault_located_at": iso(clock()), "reason": "10kV cable fault"},
        headers=keys.headers("submitter"),
    )
    record = confirmed.json()
    await run_channels()
    told = await _outbox_to(redis, phone(1))
    assert len(told) == 1 and "已确认为故障" in told[0].body
    from tests.flows import approve

    await approve(client, keys, record["id"], "reviewer")
    await run_channels()
    notices = [m for m in await _outbox_to(redis, phone(1)) if m.outage_id == record["id"]]
    assert len(notices) == 1 and "10kV cable fault" in notices[0].body


async def test_reports_from_one_address_are_one_order(client: Client, keys: Keys, redis: ArqRedis) -> None:
    from services.customers import import_customers

    header = "account,name,phone,region,feeder,transformer_area,important,language,address\n"
    rows = [
        f"FLAT1,Name,{phone(31)},310115,F1,TA-1,0,zh-CN,张江路292号\n",
        f"FLAT2,Name,{phone(32)},310115,F1,TA-1,0,zh-CN,张江路 ２９２\n",
        f"FLAT3,Name,{phone(33)},310115,F1,TA-1,0,zh-CN,张江路293号\n",
    ]
    await import_customers(redis, [header, *rows])
    first = (await _report(client, keys, {"account": "FLAT1"})).json()["repair_id"]
    same = (await _report(client, keys, {"account": "FLAT2"})).json()["repair_id"]
    other = (await _report(client, keys, {"account": "FLAT3"})).json()["repair_id"]
    assert same == first and other != first
    order = (await client.get(f"{REPAIRS}/{first}", headers=keys.headers("reviewer"))).json()
    assert len(order["reports"]) == 2
