"""SMS through the real twilio SDK against a local fake Twilio; receipts and replies via webhooks."""

import io
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest
from arq.connections import ArqRedis
from twilio.request_validator import RequestValidator

from publishers.base import MessageRef, PermanentProviderError, Provider
from publishers.sms import sms_provider
from schemas.settings import Settings
from store.optouts import OptOuts
from store.outbox import Outbox
from tests.asgi import app_client
from tests.bodies import outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio
from tests.flows import submit_and_approve
from tests.ivr_caller import parse
from workers.worker import build_worker

PUBLIC = "https://notices.example.com"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio_settings(settings: Settings, fake_twilio: FakeTwilio) -> Settings:
    return msgspec.structs.replace(
        settings,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=FROM,
        twilio_api_base=fake_twilio.url,
        public_base_url=PUBLIC,
        sms_retry_base=0.0,
    )


@pytest.fixture
async def client(
    twilio_settings: Settings, redis: ArqRedis, clock: FakeClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(twilio_settings, redis, clock) as test_client:
        yield test_client


async def _run(settings: Settings, redis: ArqRedis, clock: FakeClock) -> None:
    worker = build_worker(settings, clock, redis=redis, burst=True)
    await worker.main()
    await worker.on_shutdown(worker.ctx)


async def _publish(client: httpx.AsyncClient, keys: Keys, body: dict[str, Any]) -> str:
    return str((await submit_and_approve(client, keys, body))["id"])


async def _sms(client: httpx.AsyncClient, keys: Keys, outage_id: str) -> dict[str, Any]:
    report = (
        await client.get(f"/api/v1/outages/{outage_id}/deliveries", headers=keys.headers("reviewer"))
    ).json()
    return report["notices"][0]["sms"]  # type: ignore[no-any-return]


@pytest.fixture(params=["outbox", "twilio"])
async def provider(
    request: pytest.FixtureRequest,
    settings: Settings,
    twilio_settings: Settings,
    redis: ArqRedis,
    clock: FakeClock,
) -> AsyncIterator[tuple[str, Provider]]:
    chosen = twilio_settings if request.param == "twilio" else settings
    backend = sms_provider(chosen, redis, clock)
    yield request.param, backend
    await backend.close()


async def test_provider_contract_send_returns_a_sid_and_the_message_arrives(
    provider: tuple[str, Provider], redis: ArqRedis, fake_twilio: FakeTwilio
) -> None:
    name, backend = provider
    sent = await backend.send(phone(1), "测试 test", MessageRef("O1", "new", "A1", "zh-CN"))
    assert sent.sid
    assert sent.status == "accepted"
    if name == "twilio":
        [created] = fake_twilio.created
        assert (created["To"], created["From"], created["Body"]) == (phone(1), FROM, "测试 test")
        assert created["StatusCallback"] == f"{PUBLIC}/twilio/sms/status"
        assert created["sid"] == sent.sid
    else:
        _, [message] = await Outbox(redis).page(0, 10)
        assert (message.to, message.body, message.sid) == (phone(1), "测试 test", sent.sid)


async def test_twilio_invalid_number_is_permanent(twilio_settings: Settings, redis: ArqRedis, clock: FakeClock,
                                                 fake_twilio: FakeTwilio) -> None:  # fmt: skip
    backend = sms_provider(twilio_settings, redis, clock)
    fake_twilio.answer_next(400, 21211)
    with pytest.raises(PermanentProviderError) as raised:
        await backend.send(phone(1), "x", MessageRef("O1", "new", "A1", "en"))
    await backend.close()
    assert raised.value.code == "21211"
    assert not raised.value.opted_out


async def test_fan_out_through_twilio_one_message_each(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    await load(redis, *(row(f"A{n}", phone(n)) for n in range(6)))
    outage_id = await _publish(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await _run(twilio_settings, redis, clock)
    assert sorted(m["To"] for m in fake_twilio.created) == [phone(n) for n in range(6)]
    assert (await _sms(client, keys, outage_id))["accepted"] == 6


async def test_throttling_and_server_errors_are_retried_without_duplicates(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    await load(redis, *(row(f"A{n}", phone(n)) for n in range(5)))
    fake_twilio.answer_next(429, 20429, times=3)
    fake_twilio.answer_next(500, times=2)
    outage_id = await _publish(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await _run(twilio_settings, redis, clock)
    for n in range(5):
        assert len(fake_twilio.messages_to(phone(n))) == 1
    assert len(fake_twilio.requests) == 10
    sms = await _sms(client, keys, outage_id)
    assert (sms["accepted"], sms["retries"], sms["sending"]) == (5, 5, 0)


async def test_invalid_and_unsubscribed_numbers_are_recorded_not_retried(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    await load(redis, row("OK", phone(1)), row("BAD", phone(2)), row("GONE", phone(3)))
    fake_twilio.number_errors = {phone(2): (400, 21211), phone(3): (400, 21610)}
    outage_id = await _publish(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await _run(twilio_settings, redis, clock)
    assert len([r for r in fake_twilio.requests if r["To"] in (phone(2), phone(3))]) == 2
    sms = await _sms(client, keys, outage_id)
    assert (sms["accepted"], sms["failed"], sms["error_codes"]) == (1, 2, {"21211": 1, "21610": 1})
    assert await OptOuts(redis, "sms").opted_out([phone(2), phone(3)]) == [False, True]


def _signed(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


async def _receipt(client: httpx.AsyncClient, sid: str, status: str, code: str = "") -> httpx.Response:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
    if code:
        params["ErrorCode"] = code
    return await client.post(
        "/twilio/sms/status", data=params, headers=_signed(f"{PUBLIC}/twilio/sms/status", params)
    )


async def test_receipts_move_status_forward_only_and_repeat_harmlessly(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    await load(redis, row("A1", phone(1)), row("A2", phone(2)))
    outage_id = await _publish(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await _run(twilio_settings, redis, clock)
    first, second = (m["sid"] for m in sorted(fake_twilio.created, key=lambda m: m["To"]))
    for status in ("sent", "delivered", "sent", "delivered"):
        assert (await _receipt(client, first, status)).status_code == 204
    assert (await _receipt(client, second, "undelivered", "30003")).status_code == 204
    assert (await _receipt(client, second, "sent")).status_code == 204
    assert (await _receipt(client, "SMunknown", "delivered")).status_code == 204
    sms = await _sms(client, keys, outage_id)
    assert (sms["delivered"], sms["undelivered"], sms["sent"], sms["accepted"]) == (1, 1, 0, 0)
    assert sms["error_codes"] == {"30003": 1}


async def test_receipts_with_a_bad_signature_or_spoofed_host_change_nothing(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    await load(redis, row("A1", phone(1)))
    outage_id = await _publish(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await _run(twilio_settings, redis, clock)
    sid = fake_twilio.created[0]["sid"]
    params = {"MessageSid": sid, "MessageStatus": "delivered"}
    no_signature = await client.post("/twilio/sms/status", data=params)
    wrong_key = await client.post(
        "/twilio/sms/status",
        data=params,
        headers=_signed(f"{PUBLIC}/twilio/sms/status", params, "other-token"),
    )
    spoofed = await client.post(
        "/twilio/sms/status",
        data=params,
        headers={
            **_signed("https://evil.example.com/twilio/sms/status", params),
            "X-Forwarded-Host": "evil.example.com",
        },
    )
    assert [r.status_code for r in (no_signature, wrong_key, spoofed)] == [403, 403, 403]
    assert (await _sms(client, keys, outage_id))["delivered"] == 0


async def _inbound(client: httpx.AsyncClient, sender: str, body: str) -> str:
    params = {"From": sender, "To": FROM, "Body": body, "AccountSid": ACCOUNT_SID}
    response = await client.post(
        "/twilio/sms/inbound", data=params, headers=_signed(f"{PUBLIC}/twilio/sms/inbound", params)
    )
    assert response.status_code == 200, response.text
    assert response.text.startswith("<?xml")
    return response.text


async def test_inbound_stop_start_help_and_status(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    await load(redis, row("A1", phone(1)), row("A2", phone(2), language="en"))
    assert "退订" in await _inbound(client, phone(1), "退订")
    assert await OptOuts(redis, "sms").opted_out([phone(1)]) == [True]
    assert "START" in await _inbound(client, phone(2), "stop")
    assert await OptOuts(redis, "sms").opted_out([phone(2)]) == [True]
    await _inbound(client, phone(2), "START")
    assert await OptOuts(redis, "sms").opted_out([phone(2)]) == [False]
    assert "95598" in await _inbound(client, phone(2), "HELP")

    await _publish(
        client, keys, outage_body(clock(), scope={"feeders": ["F1"]}, reason="Switchgear replacement")
    )
    await _run(twilio_settings, redis, clock)
    assert [m["To"] for m in fake_twilio.created] == [phone(2)]
    status = await _inbound(client, phone(2), "STATUS")
    assert "Switchgear replacement" in status
    chinese = await _inbound(client, phone(1), "停电")
    assert "Switchgear replacement" in chinese and "停电" in chinese
    stranger = await _inbound(client, phone(99), "停电")
    assert "未登记" in stranger


async def test_throttling_then_errors_after_accepting_still_one_message_each(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    await load(redis, *(row(f"A{n}", phone(n)) for n in range(6)))
    fake_twilio.answer_next(429, 20429, times=4)
    fake_twilio.answer_next(500, times=3, after_accepting=True)
    fake_twilio.answer_next(503, times=2)
    outage_id = await _publish(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await _run(twilio_settings, redis, clock)
    for n in range(6):
        assert len(fake_twilio.messages_to(phone(n))) == 1, n
    sms = await _sms(client, keys, outage_id)
    assert (sms["accepted"], sms["unconfirmed"], sms["sending"]) == (6, 0, 0)
    assert sms["retries"] == 6  # 4 throttled + 2 server errors that had created nothing
    assert fake_twilio.lookups == 5  # every 5xx was checked before sending again
    assert len(fake_twilio.requests) == 6 + 4 + 3 + 2 - 3  # the 3 accepted-then-500 were not sent again


async def test_a_fan_out_whose_batches_gave_up_is_resumed_once_twilio_is_back(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    await load(redis, *(row(f"A{n}", phone(n)) for n in range(6)))
    fake_twilio.answer_next(503, times=100_000)
    outage_id = await _publish(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await _run(twilio_settings, redis, clock)
    assert fake_twilio.created == []
    assert (await _sms(client, keys, outage_id))["queued"] == 6, "every try failed: the batch job gave up"
    fake_twilio.answer_next(201, times=0)
    fake_twilio._plan.clear()  # Twilio is back
    clock.advance(minutes=6)
    await _run(twilio_settings, redis, clock)  # first check: notes 6 waiting
    assert fake_twilio.created == []
    clock.advance(minutes=6)
    await _run(twilio_settings, redis, clock)  # no progress since: resumed
    assert sorted(m["To"] for m in fake_twilio.created) == [phone(n) for n in range(6)]
    clock.advance(minutes=6)
    await _run(twilio_settings, redis, clock)  # finished: nothing more
    assert len(fake_twilio.created) == 6
    assert (await _sms(client, keys, outage_id))["accepted"] == 6


async def test_a_send_through_twilio_logs_nothing_of_its_own(
    log_lines: io.StringIO,
    twilio_settings: Settings,
    redis: ArqRedis,
    clock: FakeClock,
    fake_twilio: FakeTwilio,
) -> None:
    provider = sms_provider(twilio_settings, redis, clock)
    try:
        await provider.send(phone(7), "停电通知", MessageRef("OUT-1", "new", "A7", "zh-CN"))
    finally:
        await provider.close()
    assert len(fake_twilio.created) == 1
    # Ten SDK lines per message, each with the recipient's number, would bury a fan-out's own log.
    assert "Twilio API Request" not in log_lines.getvalue()
    assert phone(7)[1:] not in log_lines.getvalue()


async def test_a_fault_report_by_sms_is_answered_with_its_repair_order_or_the_outage(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    await load(
        redis,
        row("A1", phone(1)),
        row("A2", phone(2), language="en", feeder="F9"),
        row("A3", phone(3)),
        row("A4", phone(3)),
    )
    reply = await _inbound(client, phone(1), "停电报修 家里全黑了")
    assert "工单号RO-" in reply
    # An English speaker, a hazard: urgent, and told to keep away.
    reply = await _inbound(client, phone(2), "OUT wires down and sparking")
    assert "repair order RO-" in reply and "Keep away" in reply
    repairs = (await client.get("/api/v1/repairs", headers=keys.headers("reviewer"))).json()
    assert {(r["account"], r["urgency"]) for r in repairs} == {("A1", "general"), ("A2", "urgent")}
    # A phone on two accounts must say which; then it is that account's report.
    assert "报修 户号" in await _inbound(client, phone(3), "报修")
    assert "工单号" in await _inbound(client, phone(3), "报修 A4")
    # Words that only begin like a report word are not reports.
    assert "工单号" not in await _inbound(client, phone(1), "OUTAGE")
    assert len((await client.get("/api/v1/repairs", headers=keys.headers("reviewer"))).json()) == 3


async def test_reg_by_sms_adds_this_phone_after_the_account_holder_passes_on_the_code(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    import re

    await load(redis, row("A1", phone(1)))
    family = phone(77)
    reply = await _inbound(client, family, "注册 A1")
    assert "+86138****0001" in reply
    outbox = msgspec.structs.replace(twilio_settings, twilio_account_sid=None, twilio_from=None)
    await _run(outbox, redis, clock)
    _, messages = await Outbox(redis).page(0, 100)
    [to_owner] = [m for m in messages if m.to == phone(1)]
    code = re.search(r"验证码(\d{6})", to_owner.body).group(1)  # type: ignore[union-attr]
    assert "未能办理" in await _inbound(
        client, family, "注册 A1 000000" if code != "000000" else "注册 A1 111111"
    )
    assert "已绑定户号A1" in await _inbound(client, family, f"注册 A1 {code}")
    contacts = (await client.get("/api/v1/customers/A1/contacts", headers=keys.headers("submitter"))).json()
    assert [c["address"] for c in contacts] == [family]
    assert "解除与1个户号" in await _inbound(client, family, "解绑")
    assert (await client.get("/api/v1/customers/A1/contacts", headers=keys.headers("submitter"))).json() == []


async def _voice(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> httpx.Response:
    """Twilio asking one of the voice webhooks (`url` as the call was given it)."""
    path = url.removeprefix(PUBLIC)
    return await client.post(path, data=params, headers=_signed(url, params))


async def test_important_customers_are_called_confirm_with_1_and_unconfirmed_calls_are_redialled_then_flagged(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    from urllib.parse import parse_qs, urlsplit

    from services.voice import VoiceService

    await load(
        redis, row("I1", phone(1), important=True), row("I2", phone(2), important=True), row("P1", phone(3))
    )
    outage_id = await _publish(
        client, keys, outage_body(clock(), kind="temporary", days=2, scope={"feeders": ["F1"]})
    )
    await _run(twilio_settings, redis, clock)
    calls = {c["To"]: c for c in fake_twilio.calls}
    assert set(calls) == {phone(1), phone(2)}, "important customers only"
    assert len(fake_twilio.messages_to(phone(3))) == 0, "a temporary outage's SMS goes to important customers"

    # I1 answers, hears the notice and presses 1.
    answered = await _voice(client, calls[phone(1)]["Url"], {"CallSid": calls[phone(1)]["sid"], "From": FROM})
    said = parse(answered.text)
    assert (
        "Replacing switchgear" in said.all_text
        and said.gather is not None
        and "按1" in " ".join(said.gather_says)
    )
    confirmed = await _voice(
        client, said.gather["action"], {"CallSid": calls[phone(1)]["sid"], "Digits": "1"}
    )
    assert "感谢您的确认" in confirmed.text
    await _voice(
        client,
        calls[phone(1)]["StatusCallback"],
        {"CallSid": calls[phone(1)]["sid"], "CallStatus": "completed"},
    )

    # I2 does not answer: called again after each VOICE_RETRIES pause, then flagged.
    status_url = calls[phone(2)]["StatusCallback"]
    await _voice(client, status_url, {"CallSid": calls[phone(2)]["sid"], "CallStatus": "no-answer"})
    query = {k: v[0] for k, v in parse_qs(urlsplit(status_url).query).items()}
    job_id = f"call:{outage_id}:new:{query['k']}:2"
    assert await redis.exists(f"arq:job:{job_id}"), "the second call is queued"
    voice = VoiceService(twilio_settings, redis, clock)
    await voice.redial(outage_id, "new", query["k"], query["lang"], 2)
    await voice.redial(outage_id, "new", query["k"], query["lang"], 3)
    assert len([c for c in fake_twilio.calls if c["To"] == phone(2)]) == 3
    last = [c for c in fake_twilio.calls if c["To"] == phone(2)][-1]
    await _voice(client, last["StatusCallback"], {"CallSid": last["sid"], "CallStatus": "no-answer"})
    queue = (await client.get("/api/v1/reviews", headers=keys.headers("reviewer"))).json()
    flagged = [item for item in queue if item["unconfirmed_important"]]
    assert [(i["outage_id"], i["unconfirmed_important"]) for i in flagged] == [(outage_id, ["I2"])]
    deliveries = (
        await client.get(f"/api/v1/outages/{outage_id}/deliveries", headers=keys.headers("reviewer"))
    ).json()
    voice_counts = deliveries["notices"][0]["channels"]["voice"]
    assert (voice_counts["recipients"], voice_counts["confirmed"], voice_counts["unconfirmed"]) == (2, 1, 1)
    window = {"region": "310115", "from": "2026-01-01T00:00:00+08:00", "to": "2027-01-01T00:00:00+08:00"}
    report = (await client.get("/api/v1/compliance", params=window, headers=keys.headers("reviewer"))).json()
    [row_] = [n for n in report["notices"] if n["outage_id"] == outage_id]
    assert (row_["calls"], row_["calls_confirmed"]) == (2, 1) and row_[
        "confirmed_lead_hours"
    ] == pytest.approx(48, abs=0.1)
    # A late confirmation takes the flag off.
    late = await _voice(
        client, last["Url"].replace("/notice?", "/confirm?"), {"CallSid": last["sid"], "Digits": "1"}
    )
    assert "感谢" in late.text
    queue = (await client.get("/api/v1/reviews", headers=keys.headers("reviewer"))).json()
    assert [item for item in queue if item["unconfirmed_important"]] == []


async def test_nine_in_a_call_stops_further_calls_but_not_sms(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, twilio_settings: Settings,
    fake_twilio: FakeTwilio,
) -> None:  # fmt: skip
    await load(redis, row("I1", phone(1), important=True))
    await _publish(client, keys, outage_body(clock(), kind="temporary", days=2, scope={"feeders": ["F1"]}))
    await _run(twilio_settings, redis, clock)
    [call] = fake_twilio.calls
    said = parse((await _voice(client, call["Url"], {"CallSid": call["sid"], "To": phone(1)})).text)
    assert said.gather is not None and "按9" in " ".join(said.gather_says)
    stopped = await _voice(
        client, said.gather["action"], {"CallSid": call["sid"], "Digits": "9", "To": phone(1)}
    )
    assert "不再接收停电通知电话" in stopped.text
    second = await _publish(
        client,
        keys,
        outage_body(clock(), kind="temporary", days=2, external_id="T2", scope={"feeders": ["F1"]}),
    )
    await _run(twilio_settings, redis, clock)
    assert len(fake_twilio.calls) == 1, "no second call"
    assert len(fake_twilio.messages_to(phone(1))) == 2, "SMS still come"
    deliveries = (
        await client.get(f"/api/v1/outages/{second}/deliveries", headers=keys.headers("reviewer"))
    ).json()
    assert deliveries["notices"][0]["channels"]["voice"]["opted_out"] == 1
