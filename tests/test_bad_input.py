"""Whatever a client sends, the answer is a 4xx naming the field and the rule, never a 500, and
nothing stored changes."""

import asyncio
import time
from typing import Any

import httpx
import msgspec
from arq.connections import ArqRedis

from schemas.settings import Settings
from tests.asgi import app_client
from tests.conftest import FakeClock, Keys, snapshot
from tests.customers import HEADER, phone, row
from tests.ivr_caller import PUBLIC, TOKEN

Client = httpx.AsyncClient


async def test_malformed_bodies_are_400_naming_the_body(client: Client, keys: Keys, redis: ArqRedis) -> None:
    before = await snapshot(redis)
    json_headers = {**keys.headers("submitter"), "content-type": "application/json"}
    for body in (
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"title": "\xff\xfe"}',
        b'{"title": "\xed\xa0\x80"}',
    ):
        answer = await client.post("/api/v1/outages", content=body, headers=json_headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["extra"]["field"] == "body"
    assert await snapshot(redis) == before


async def test_numbers_beyond_64_bits_are_refused_by_name(
    settings: Settings, redis: ArqRedis, clock: FakeClock, keys: Keys
) -> None:
    async with app_client(msgspec.structs.replace(settings, dev_pages=True), redis, clock) as client:
        for path, name in (
            ("/api/v1/outages?offset=100000000000000000000000", "offset"),
            ("/api/v1/outages?offset=9223372036854775808", "offset"),
            ("/api/v1/outages?limit=-99999999999999999999999", "limit"),
            ("/dev/outbox?page=100000000000000000000000", "page"),
            ("/dev/outbox?page=0", "page"),
        ):
            answer = await client.get(path, headers=keys.headers("reviewer"))
            assert answer.status_code == 400, (path, answer.text)
            assert answer.json()["extra"]["field"] == name, answer.text


async def test_a_csv_field_over_128_kib_rejects_its_row_and_the_rest_goes_in(
    client: Client, keys: Keys, redis: ArqRedis
) -> None:
    rows = "".join(row(f"A{n}", phone(n)) for n in range(3000))
    huge = f"B1,{'x' * 140_000},{phone(9001)},310115,F1,TA,0,zh-CN\n"
    text = HEADER + rows + huge + row("C1", phone(9002))
    answer = await client.post("/api/v1/customers/import", content=text, headers=keys.headers("submitter"))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["inserted"], report["rejected"]) == (3001, 1)
    [problem] = report["problems"]
    assert problem["line"] == 3002 and "field larger" in problem["reason"]


async def test_the_dev_menu_step_takes_only_the_menus_own_urls(
    settings: Settings, redis: ArqRedis, clock: FakeClock
) -> None:
    base = settings.public_base_url
    async with app_client(msgspec.structs.replace(settings, dev_pages=True), redis, clock) as client:
        for url in (
            f"{base}/ivr/../dev/ivr/step",
            f"{base}/ivr/%ZZ",
            f"{base}/ivr/voice?x=\x00",
            f"{base}/ivr/voice#fragment",
            f"{base}/ivr/nothing",
            f"{base}/ivr//voice",
            "http://169.254.169.254/ivr/voice",
            f"{base}@evil.example/ivr/voice",
            "::::",
        ):
            answer = await client.post("/dev/ivr/step", json={"url": url, "from": phone(1)})
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json()["extra"]["field"] == "url"
        for body in (
            {"url": f"{base}/ivr/voice", "digits": "9" * 100},
            {"url": f"{base}/ivr/voice", "from": "1" * 100},
        ):
            assert (await client.post("/dev/ivr/step", json=body)).status_code == 400
        odd_state = await client.post(
            "/dev/ivr/step", json={"url": f"{base}/ivr/menu?state=zz", "digits": "1"}
        )
        assert odd_state.status_code in (200, 422), odd_state.text


async def test_webhooks_refuse_unsigned_and_oversized_forms_before_reading_them(
    settings: Settings, redis: ArqRedis, clock: FakeClock
) -> None:
    ivr = msgspec.structs.replace(settings, twilio_auth_token=TOKEN, public_base_url=PUBLIC)
    form = {"From": phone(1), "Body": "x" * 900_000}
    async with app_client(ivr, redis, clock) as client:
        for path in ("/ivr/voice", "/ivr/menu", "/twilio/sms/inbound", "/twilio/sms/status"):
            started = time.monotonic()
            unsigned = await client.post(path, data=form)
            assert unsigned.status_code in (403, 413), (path, unsigned.status_code)
            signed = await client.post(path, data=form, headers={"X-Twilio-Signature": "anything"})
            assert signed.status_code == 413, (path, signed.status_code)
            assert time.monotonic() - started < 0.5, path

        async def call() -> float:
            from twilio.request_validator import RequestValidator

            params = {"From": phone(1), "To": "+8695598", "CallSid": "CA1"}
            signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/ivr/voice", params)
            started = time.monotonic()
            answer = await client.post("/ivr/voice", data=params, headers={"X-Twilio-Signature": signature})
            assert answer.status_code == 200
            return time.monotonic() - started

        flood: list[Any] = [client.post("/ivr/voice", data=form) for _ in range(12)]
        results = await asyncio.gather(call(), *flood)
        assert results[0] < 0.5
