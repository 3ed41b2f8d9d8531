"""The phone menu through its webhooks, as Twilio would call them."""

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from arq.connections import ArqRedis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.app import create_app
from schemas.ivr import DEPTH, PARENT, State
from schemas.settings import Settings, SettingsError, settings_from_env
from store.embedded import free_port
from store.ledger import DeliveryLedger
from store.optouts import OptOuts
from store.outbox import Outbox
from tests.asgi import app_client
from tests.bodies import fault_body, outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.flows import approve
from tests.ivr_caller import PUBLIC, TOKEN, Caller, parse

KNOWN, QUIET, ENGLISH, DEBTOR, STRANGER = phone(1), phone(2), phone(3), phone(42), phone(99)


@pytest.fixture
def ivr_settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, twilio_auth_token=TOKEN, public_base_url=PUBLIC)


@pytest.fixture
async def client(
    ivr_settings: Settings, redis: ArqRedis, clock: FakeClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(ivr_settings, redis, clock) as test_client:
        yield test_client


@pytest.fixture
async def world(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> dict[str, Any]:
    await load(
        redis,
        row("3101150001", KNOWN, feeder="F7"),
        row("3101150002", QUIET, feeder="F2"),
        row("3101150003", ENGLISH, feeder="F7", language="en"),
        row("3101150042", DEBTOR, feeder="F9"),
    )
    outages = {}
    for name, body in (
        ("fault", fault_body(clock(), reason="施工挖断电缆", area_description="华木路", scope={"feeders": ["F7"]})),
        ("planned", outage_body(clock(), days=3, kind="temporary", reason="更换开关", area_description="科苑路", scope={"feeders": ["F7"]})),
        ("arrears", outage_body(clock(), external_id="AR", kind="arrears", days=4, reason="欠费三个月",
                                area_description="户号3101150042", scope={"accounts": ["3101150042"]})),
    ):  # fmt: skip
        created = (await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))).json()
        outages[name] = (await approve(client, keys, created["id"], "reviewer")).json()
    await run_channels()
    return outages


async def test_known_caller_hears_their_outage_with_reason_and_restoration(
    client: httpx.AsyncClient, world: Any
) -> None:
    caller = Caller(client, KNOWN)
    greeting = await caller.dial_in()
    assert "您好，国家电网95598为您服务" in greeting.says[0]
    assert greeting.gather is not None and "按1" in " ".join(greeting.gather_says)
    answer = await caller.press("1")
    text = answer.all_text
    assert "华木路" in text and "施工挖断电缆" in text and "恢复供电" in text
    assert "科苑路" in text  # the temporary outage on the same feeder, upcoming
    assert "欠费" not in text
    assert "按0" in text and "星号" in text


async def test_caller_without_an_outage_is_told_so(client: httpx.AsyncClient, world: Any) -> None:
    caller = Caller(client, QUIET)
    await caller.dial_in()
    assert "没有已发布的停电信息" in (await caller.press("1")).all_text


async def test_unknown_caller_enters_an_account_by_keypad(client: httpx.AsyncClient, world: Any) -> None:
    caller = Caller(client, STRANGER)
    await caller.dial_in()
    prompt = await caller.press("1")
    assert "未能识别" in prompt.says[0]
    assert prompt.gather is not None and prompt.gather["finishOnKey"] == "#"
    wrong = await caller.press("123")
    assert "没有找到这个户号" in wrong.all_text and wrong.gather is not None
    right = await caller.press("3101150001")
    assert "华木路" in right.all_text


async def test_arrears_told_only_to_the_number_on_that_account(client: httpx.AsyncClient, world: Any) -> None:
    debtor = Caller(client, DEBTOR)
    await debtor.dial_in()
    assert "欠费三个月" in (await debtor.press("1")).all_text
    stranger = Caller(client, STRANGER)
    await stranger.dial_in()
    await stranger.press("1")
    told = await stranger.press("3101150042")
    assert "欠费" not in told.all_text
    assert "没有已发布的停电信息" in told.all_text
    neighbour = Caller(client, KNOWN)
    await neighbour.dial_in()
    await neighbour.press("1")
    await neighbour.press("2")
    assert "欠费" not in (await neighbour.press("3101150042")).all_text


async def test_planned_outages_of_the_next_seven_days(client: httpx.AsyncClient, world: Any) -> None:
    caller = Caller(client, KNOWN)
    await caller.dial_in()
    week = await caller.press("2")
    assert "科苑路" in week.all_text and "华木路" not in week.all_text


async def test_no_input_repeats_once_then_says_goodbye_and_hangs_up(
    client: httpx.AsyncClient, world: Any
) -> None:
    caller = Caller(client, KNOWN)
    first = await caller.dial_in()
    again = await caller.wait()
    assert again.gather_says == first.gather_says
    last = await caller.wait()
    assert last.says == ["结束服务请挂机。"] and last.hangup and last.gather is None


async def test_wrong_key_says_so_and_repeats(client: httpx.AsyncClient, world: Any) -> None:
    caller = Caller(client, KNOWN)
    menu = await caller.dial_in()
    wrong = await caller.press("7")
    assert wrong.says == ["您的输入有误。"]
    assert wrong.gather_says == menu.gather_says


async def test_zero_transfers_and_star_goes_back_at_every_level(
    client: httpx.AsyncClient, world: Any
) -> None:
    # The key presses that reach each state from the main menu.
    path = {State.MAIN: [], State.MY_OUTAGES: ["1"], State.WEEK: ["2"], State.ENTER_ACCOUNT: ["1", "2"],
            State.ACCOUNT_RESULT: ["1", "2", "3101150001"], State.SMS_SENT: ["1", "1"],
            State.REPORTED: ["3"], State.REPORT_ACCOUNT: ["3", "2"]}  # fmt: skip
    assert set(path) == set(State), "every state is walked"
    assert max(DEPTH.values()) <= 5
    for state, presses in path.items():
        for key, expect in (("0", "dial"), ("*", "back")):
            caller = Caller(client, KNOWN)
            await caller.dial_in()
            for press in presses:
                await caller.press(press)
            assert caller.turn.gather is not None, state
            prompt = " ".join(caller.turn.gather_says)
            assert "0" in prompt and "星号" in prompt, (state, prompt)
            answer = await caller.press(key)
            if expect == "dial":
                assert answer.dial == "+8695598", state
            else:
                parent_action = f"state={PARENT[state].value}"
                assert answer.gather is not None and parent_action in answer.gather["action"], (state, answer)


async def test_a_caller_reports_no_power_in_the_main_menu(
    client: httpx.AsyncClient, world: Any, keys: Keys
) -> None:
    # A known caller whose feeder has a published fault is told of it, and no crew is sent.
    known = Caller(client, KNOWN)
    await known.dial_in()
    told = await known.press("3")
    assert "施工挖断电缆" in told.all_text and "报修已记录" in told.all_text
    # A caller the number does not identify gives the account; the order is read out.
    stranger = Caller(client, STRANGER)
    await stranger.dial_in()
    asked = await stranger.press("3")
    assert "未能识别" in asked.all_text and asked.gather is not None and asked.gather["finishOnKey"] == "#"
    assert "没有找到这个户号" in (await stranger.press("999")).all_text
    ordered = await stranger.press("3101150002")
    assert "工单尾号" in ordered.all_text
    urgent = await stranger.press("1")
    assert "紧急" in urgent.all_text
    # Asked again (no key pressed), the menu repeats what stands and files nothing more.
    await stranger.wait()
    repairs = (await client.get("/api/v1/repairs", headers=keys.headers("reviewer"))).json()
    assert [(r["account"], r["urgency"], len(r["reports"])) for r in repairs] == [("3101150002", "urgent", 2)]


async def test_english_for_english_customers_and_on_nine(client: httpx.AsyncClient, world: Any) -> None:
    english = Caller(client, ENGLISH)
    assert "State Grid 95598 at your service" in (await english.dial_in()).says[0]
    assert "because of 施工挖断电缆" in (await english.press("1")).all_text
    chinese = Caller(client, KNOWN)
    await chinese.dial_in()
    switched = await chinese.press("9")
    assert "press 1" in " ".join(switched.gather_says)


async def test_press_one_sends_the_answer_by_sms(
    client: httpx.AsyncClient, world: Any, redis: ArqRedis, run_channels: Any
) -> None:
    caller = Caller(client, KNOWN, call_sid="CA-sms")
    await caller.dial_in()
    await caller.press("1")
    sent = await caller.press("1")
    assert "短信已发送" in sent.all_text
    await caller.press("*")
    await caller.press("1")
    await caller.press("1")  # the same request again in this call: one message only
    await run_channels()
    _, messages = await Outbox(redis).page(0, 100)
    ivr = [m for m in messages if m.outage_id == "ivr"]
    assert len(ivr) == 1 and ivr[0].to == KNOWN and "华木路" in ivr[0].body


async def test_webhooks_refuse_unsigned_requests(client: httpx.AsyncClient) -> None:
    assert (await client.post("/ivr/voice", data={"From": KNOWN})).status_code == 403
    forged = await client.post(
        "/ivr/menu?state=main&step=show", data={"From": KNOWN}, headers={"X-Twilio-Signature": "x"}
    )
    assert forged.status_code == 403


async def test_redis_unreachable_still_gives_valid_twiml(ivr_settings: Settings, clock: FakeClock) -> None:
    from arq.connections import ArqRedis as Pool

    gone = Pool.from_url(f"redis://127.0.0.1:{free_port()}/0")
    async with app_client(ivr_settings, gone, clock) as unreachable:
        turn = await Caller(unreachable, KNOWN).dial_in()
    await gone.aclose()
    assert "暂时无法查询" in turn.all_text and turn.dial == "+8695598"


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=st.lists(st.sampled_from([*"0123456789*#", "3101150001", "", "wait"]), max_size=8))
async def test_random_key_sequences_always_get_valid_twiml(
    client: httpx.AsyncClient, world: Any, keys: list[str]
) -> None:
    caller = Caller(client, KNOWN)
    await caller.dial_in()
    for key in keys:
        turn = caller.turn
        if turn.hangup or turn.dial:
            break
        if key == "wait" or turn.gather is None:
            await caller.wait()
        else:
            await caller.press(key)
        assert caller.turn.says or caller.turn.gather_says


def test_depth_and_parents_are_consistent() -> None:
    for state in State:
        assert DEPTH[state] <= 5
        if state is not State.MAIN:
            assert DEPTH[PARENT[state]] < DEPTH[state]
    assert parse("<Response><Say>x</Say><Hangup/></Response>").hangup


async def test_dev_page_walks_the_menu_with_signed_requests(
    settings: Settings, redis: ArqRedis, clock: FakeClock, world: Any
) -> None:
    demo = msgspec.structs.replace(settings, public_base_url=PUBLIC, dev_pages=True)
    async with app_client(demo, redis, clock) as client:
        assert (await client.get("/dev/ivr")).status_code == 200
        first = (
            await client.post("/dev/ivr/step", json={"url": f"{PUBLIC}/ivr/voice", "from": KNOWN})
        ).json()
        assert "国家电网95598为您服务" in first["says"][0]
        answer = (
            await client.post(
                "/dev/ivr/step", json={"url": first["gather"]["action"], "from": KNOWN, "digits": "1"}
            )
        ).json()
        assert any("华木路" in s for s in answer["gather"]["says"])
        outside = await client.post("/dev/ivr/step", json={"url": "http://169.254.169.254/", "from": KNOWN})
        assert outside.status_code == 422


async def test_dev_pages_exist_only_when_asked_for_and_never_with_a_twilio_token(
    settings: Settings, redis: ArqRedis, clock: FakeClock, tmp_path: Path
) -> None:
    # Off by default, even with no Twilio settings at all.
    async with app_client(settings, redis, clock) as client:
        for path in ("/dev/ivr", "/dev/outbox"):
            assert (await client.get(path)).status_code == 404, path
        step = await client.post("/dev/ivr/step", json={"url": f"{PUBLIC}/ivr/voice", "from": KNOWN})
        assert step.status_code in (404, 405)
    # The README's real-number IVR setup: a token and a public URL, no SID or sender.
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": PUBLIC}
    assert settings_from_env(env).dev_pages is False
    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN"):
        settings_from_env({**env, "DEV_PAGES": "1"})
    with pytest.raises(SettingsError):
        create_app(msgspec.structs.replace(settings, dev_pages=True, twilio_auth_token=TOKEN), redis, clock)


def test_serve_refuses_dev_pages_with_a_twilio_token_before_starting_anything(tmp_path: Path) -> None:
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": PUBLIC}
    refused = subprocess.run(
        [sys.executable, "-m", "cli", "serve", "--demo"],
        env={**os.environ, **env, "DATA_DIR": str(tmp_path), "PORT": "1"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "TWILIO_AUTH_TOKEN" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "redis").exists(), "nothing may start before the refusal"


async def test_an_unregistered_caller_gets_back_to_the_main_menu_with_star(
    client: httpx.AsyncClient, world: Any
) -> None:
    caller = Caller(client, STRANGER)
    await caller.dial_in()
    for first in ("1", "2"):
        entering = await caller.press(first)
        assert entering.gather is not None and entering.gather["finishOnKey"] == "#"
        back = await caller.press("*")
        assert "查询您家的停电信息请按1" in back.all_text, (first, back.all_text)


async def test_each_language_offer_is_spoken_in_that_language(client: httpx.AsyncClient, world: Any) -> None:
    english = Caller(client, ENGLISH)
    spoken = dict((text, language) for language, text in (await english.dial_in()).spoken)
    [offer] = [t for t in spoken if "中文服务" in t]
    assert spoken[offer] == "cmn-CN" and "press 1" not in offer
    assert all(language == "en-US" for text, language in spoken.items() if text != offer)
    chinese = Caller(client, KNOWN)
    spoken = dict((text, language) for language, text in (await chinese.dial_in()).spoken)
    [offer] = [t for t in spoken if "English" in t]
    assert spoken[offer] == "en-US" and "按1" not in offer


async def test_sms_from_the_menu_goes_through_the_ledger_opt_out_and_rate_cap(
    client: httpx.AsyncClient, world: Any, redis: ArqRedis, run_channels: Any
) -> None:

    await OptOuts(redis, "sms").set_opted_out(QUIET, True)
    quiet = Caller(client, QUIET, call_sid="CA-quiet")
    await quiet.dial_in()
    await quiet.press("1")
    await quiet.press("1")
    known = Caller(client, KNOWN, call_sid="CA-known")
    await known.dial_in()
    await known.press("1")
    await known.press("1")
    await run_channels()
    _, messages = await Outbox(redis).page(0, 100)
    assert [m.to for m in messages if m.outage_id == "ivr"] == [KNOWN], "an opted-out number got an SMS"
    ledger = DeliveryLedger(redis, "sms")
    assert (await ledger.counts("ivr", "CA-known:my_outages"))["accepted"] == 1
    assert (await ledger.counts("ivr", "CA-quiet:my_outages"))["opted_out"] == 1
