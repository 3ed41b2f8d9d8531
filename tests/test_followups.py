"""After a notice: the restoration check ("power still out? reply 1") and the follow-up survey of a
sample of recipients, answered by SMS and counted in the compliance report."""

import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from arq.connections import ArqRedis

from schemas.settings import Settings
from store.optouts import OptOuts
from store.outbox import Outbox
from tests.asgi import app_client
from tests.bodies import fault_body, iso, outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.fake_twilio import AUTH_TOKEN
from tests.flows import approve, submit_and_approve
from tests.test_twilio import PUBLIC, _inbound

Client = httpx.AsyncClient


async def _asked(redis: ArqRedis, topic: str) -> dict[str, str]:
    _, messages = await Outbox(redis).page(0, 1000)
    return {m.to: m.body for m in messages if m.outage_id == topic}


@pytest.fixture
def worker_settings(settings: Settings) -> Settings:
    # Messages go to the outbox; the API checks Twilio's signatures on the replies.
    return msgspec.structs.replace(settings, twilio_auth_token=AUTH_TOKEN, public_base_url=PUBLIC)


@pytest.fixture
async def client(worker_settings: Settings, redis: ArqRedis, clock: FakeClock) -> AsyncIterator[Client]:
    async with app_client(worker_settings, redis, clock) as test_client:
        yield test_client


async def test_still_out_after_restoration_reopens_a_report_at_the_front_of_the_queue(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, worker_settings: Settings,
) -> None:  # fmt: skip
    await load(
        redis,
        *(row(f"A{n}", phone(n)) for n in range(1, 4)),
        row("VIP", phone(9), feeder="F9", important=True),
    )
    outage = await submit_and_approve(client, keys, fault_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels(worker_settings)
    assert (
        await client.post("/api/v1/reports", json={"account": "A1"}, headers=keys.headers("agent"))
    ).json()["report"]["outcome"] == "explained"
    restored = {"type": "restored", "reason": "Cable repaired", "restored_at": iso(clock())}
    await client.post(
        f"/api/v1/outages/{outage['id']}/changes", json=restored, headers=keys.headers("submitter")
    )
    await approve(client, keys, outage["id"], "reviewer")
    await run_channels(worker_settings)
    assert await _asked(redis, "restoration_check") == {}, "not before RESTORATION_CHECK_DELAY"
    clock.advance(minutes=10)
    await run_channels(worker_settings)
    asked = await _asked(redis, "restoration_check")
    # The reporter always; of the 2 others, ceil(2 x 0.02) = 1.
    assert phone(1) in asked and len(asked) == 2 and "回复1" in asked[phone(1)]
    urgent = (
        await client.post("/api/v1/reports", json={"account": "VIP"}, headers=keys.headers("agent"))
    ).json()
    reply = await _inbound(client, phone(1), "1")
    assert "重新报修" in reply
    queue = (await client.get("/api/v1/repairs", headers=keys.headers("reviewer"))).json()
    assert queue[0]["account"] == "A1" and queue[0]["after_restoration"] is True
    assert queue[1]["id"] == urgent["repair_id"]
    # The question is answered: another "1" is just a text.
    assert "重新报修" not in await _inbound(client, phone(1), "1")
    [other] = [p for p in asked if p != phone(1)]
    assert "感谢您的确认" in await _inbound(client, other, "2")
    # It goes once, however often the record is published again.
    clock.advance(hours=1)
    await run_channels(worker_settings)
    assert len(await _asked(redis, "restoration_check")) == 2


async def test_a_sample_is_surveyed_once_and_the_answers_reach_the_compliance_report(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, worker_settings: Settings,
) -> None:  # fmt: skip
    await load(redis, *(row(f"A{n}", phone(n)) for n in range(1, 12)))
    await OptOuts(redis, "sms").set_opted_out(phone(11), True)
    published = clock()
    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels(worker_settings)
    clock.advance(days=8, hours=1, minutes=59)
    await run_channels(worker_settings)
    assert await _asked(redis, "survey") == {}, "not before SURVEY_DELAY after the start"
    clock.advance(minutes=1)
    await run_channels(worker_settings)
    asked = await _asked(redis, "survey")
    assert len(asked) == 5, "SURVEY_MIN of 10 recipients"
    assert phone(11) not in asked
    phones = sorted(asked)
    assert "是否在停电前收到了停电通知" in asked[phones[0]]
    for sender, text in zip(phones, ["1", "1", "2", "短信来得太晚了"], strict=False):
        assert "感谢您的反馈" in await _inbound(client, sender, text)
    report = (
        await client.get(
            "/api/v1/compliance",
            params={"region": "310115", "from": iso(published - timedelta(hours=1)), "to": iso(clock())},
            headers=keys.headers("reviewer"),
        )
    ).json()
    [row_] = [n for n in report["notices"] if n["outage_id"] == outage["id"] and n["notice"] == "new"]
    assert (row_["surveyed"], row_["survey_answered"], row_["received_in_time"]) == (5, 4, 2)
    assert row_["received_in_time_share"] == pytest.approx(2 / 3, abs=1e-3)
    assert row_["survey_comments"] == ["短信来得太晚了"] and row_["survey_below_threshold"] is True
    assert [r["outage_id"] for r in report["survey_flagged"]] == [outage["id"]]
    planned = next(k for k in report["by_kind"] if k["kind"] == "planned")
    assert planned["surveyed"] == 5 and planned["survey_answered"] == 4
    basic = "Basic " + base64.b64encode(f"x:{keys.secrets['reviewer']}".encode()).decode()
    page = (await client.get("/dispatch/compliance", headers={"Authorization": basic})).text
    assert 'id="survey"' in page and "短信来得太晚了" in page
    # A second outage soon after: those surveyed are spared for 30 days.
    second = await submit_and_approve(
        client, keys, outage_body(clock(), external_id="EXT-2", scope={"feeders": ["F1"]})
    )
    await run_channels(worker_settings)
    clock.advance(days=8, hours=2)
    await run_channels(worker_settings)
    again = await _asked(redis, "survey")
    new = {p for p in again if p not in asked}
    assert len(again) == 10 and len(new) == 5, (second["id"], again)
