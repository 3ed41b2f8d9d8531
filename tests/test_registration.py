"""Customers add contacts to their account, proved by a code sent to the account's registered
phone; verified contacts get the account's notices, each once."""

import re
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from schemas.settings import Settings
from store.outbox import Outbox
from tests.bodies import outage_body
from tests.conftest import FakeClock, Keys, snapshot
from tests.customers import load, phone, row
from tests.flows import submit_and_approve

Client = httpx.AsyncClient
SUBSCRIBE, VERIFY = "/api/v1/subscriptions", "/api/v1/subscriptions/verify"
OWNER, FAMILY, STRANGER = phone(1), phone(50), phone(60)


async def _messages(redis: ArqRedis, to: str) -> list[Any]:
    _, messages = await Outbox(redis).page(0, 1000)
    return [m for m in messages if m.to == to]


async def _code(redis: ArqRedis, run_channels: Any) -> str:
    """The newest code the owner's phone got."""
    await run_channels()
    [newest, *_] = [m for m in await _messages(redis, OWNER) if m.outage_id == "registration"]
    found = re.search(r"验证码(\d{6})|Code (\d{6})", newest.body)
    assert found is not None, newest.body
    return found.group(1) or found.group(2)


@pytest.fixture
async def customers(redis: ArqRedis) -> None:
    await load(redis, row("A1", OWNER), row("A2", phone(2)), row("FAR", phone(3), region="440305"))


async def test_a_verified_family_phone_gets_the_accounts_notices_once_each(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, customers: None
) -> None:
    asked = await client.post(SUBSCRIBE, json={"account": "A1", "address": FAMILY})
    assert asked.status_code == 202, asked.text
    assert asked.json()["sent_to"] == "+86138****0001"
    code = await _code(redis, run_channels)
    assert await _messages(redis, FAMILY) == [], "the code goes to the account holder, never the requester"
    wrong = await client.post(
        VERIFY, json={"account": "A1", "address": FAMILY, "code": f"{(int(code) + 1) % 10**6:06d}"}
    )
    assert wrong.status_code == 422 and "code" in wrong.text and "4 tries left" in wrong.text
    verified = await client.post(VERIFY, json={"account": "A1", "address": FAMILY, "code": code})
    assert verified.status_code == 201, verified.text
    contact = verified.json()["contact"]
    assert contact["address"] == FAMILY and contact["channel"] == "sms"
    token = verified.json()["token"]
    own = f"{SUBSCRIBE}/A1/{contact['id']}"
    assert (await client.get(own, headers={"X-Contact-Token": token})).json()["address"] == FAMILY
    assert (await client.get(own, headers={"X-Contact-Token": "x" * 32})).status_code == 404
    assert "token_sha256" not in verified.text or verified.json()["contact"]["token_sha256"] == ""
    # Replaying the code does nothing more.
    assert (
        await client.post(VERIFY, json={"account": "A1", "address": FAMILY, "code": code})
    ).status_code == 404

    outage = await submit_and_approve(client, keys, outage_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    for to in (OWNER, FAMILY):
        notices = [m for m in await _messages(redis, to) if m.outage_id == outage["id"]]
        assert len(notices) == 1, to
    report = (
        await client.get(f"/api/v1/outages/{outage['id']}/deliveries", headers=keys.headers("reviewer"))
    ).json()
    sms = report["notices"][0]["sms"]
    assert (sms["recipients"], sms["accepted"]) == (3, 3), "A1, its family phone and A2"
    listed = (await client.get("/api/v1/customers/A1/contacts", headers=keys.headers("submitter"))).json()
    assert [c["address"] for c in listed] == [FAMILY]


async def test_private_notices_reach_verified_contacts_only(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, customers: None
) -> None:
    await client.post(SUBSCRIBE, json={"account": "A1", "address": FAMILY})
    code = await _code(redis, run_channels)
    assert (
        await client.post(VERIFY, json={"account": "A1", "address": FAMILY, "code": code})
    ).status_code == 201
    # Asked for, never verified: gets nothing.
    await client.post(SUBSCRIBE, json={"account": "A1", "address": STRANGER})
    await run_channels()
    body = outage_body(clock(), kind="arrears", days=4, reason="欠费", scope={"accounts": ["A1"]})
    outage = await submit_and_approve(client, keys, body)
    await run_channels()
    got = {
        to: [m for m in await _messages(redis, to) if m.outage_id == outage["id"]]
        for to in (OWNER, FAMILY, STRANGER)
    }
    assert (len(got[OWNER]), len(got[FAMILY]), len(got[STRANGER])) == (1, 1, 0)


async def test_codes_cannot_be_guessed_reused_or_outlived(
    client: Client, redis: ArqRedis, clock: FakeClock, run_channels: Any, customers: None
) -> None:
    await client.post(SUBSCRIBE, json={"account": "A1", "address": FAMILY})
    code = await _code(redis, run_channels)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        assert (
            await client.post(VERIFY, json={"account": "A1", "address": FAMILY, "code": wrong})
        ).status_code == 422
    void = await client.post(VERIFY, json={"account": "A1", "address": FAMILY, "code": wrong})
    assert void.status_code == 422 and "attempts" in void.text
    # Void after 5 wrong codes: even the right one no longer works.
    assert (
        await client.post(VERIFY, json={"account": "A1", "address": FAMILY, "code": code})
    ).status_code == 404
    await client.post(SUBSCRIBE, json={"account": "A1", "address": FAMILY})
    late = await _code(redis, run_channels)
    clock.advance(minutes=10)
    assert (
        await client.post(VERIFY, json={"account": "A1", "address": FAMILY, "code": late})
    ).status_code in (404, 422)
    # At most 3 codes an hour per account (and per address).
    third = await client.post(SUBSCRIBE, json={"account": "A1", "address": FAMILY})
    assert third.status_code == 202
    limited = await client.post(SUBSCRIBE, json={"account": "A1", "address": STRANGER})
    assert limited.status_code == 429 and "account" in limited.text


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"account": "A1", "address": OWNER}, 409, "address"),
        ({"account": "NOBODY", "address": FAMILY}, 422, "account"),
        ({"account": "A1", "address": "not a phone"}, 422, "address"),
        ({"account": "A1", "address": "nobody-at-example", "channel": "email"}, 422, "address"),
        ({"account": "A1", "address": FAMILY, "channel": "fax"}, 400, "channel"),
        ({"account": "A1", "address": FAMILY, "extra": 1}, 400, "extra"),
    ],
)
async def test_bad_requests_name_the_field_and_send_nothing(
    client: Client, redis: ArqRedis, customers: None, body: dict[str, Any], status: int, field: str
) -> None:
    before = await snapshot(redis)
    response = await client.post(SUBSCRIBE, json=body)
    assert response.status_code == status, response.text
    assert field in response.text
    assert await snapshot(redis) == before


async def test_another_regions_key_cannot_list_or_remove_contacts(
    client: Client, keys: Keys, redis: ArqRedis, run_channels: Any, customers: None
) -> None:
    await client.post(SUBSCRIBE, json={"account": "A1", "address": FAMILY})
    code = await _code(redis, run_channels)
    contact = (await client.post(VERIFY, json={"account": "A1", "address": FAMILY, "code": code})).json()[
        "contact"
    ]
    assert (
        await client.get("/api/v1/customers/A1/contacts", headers=keys.headers("other"))
    ).status_code == 404
    gone = f"/api/v1/customers/A1/contacts/{contact['id']}"
    assert (await client.delete(gone, headers=keys.headers("other"))).status_code == 404
    assert (await client.delete(gone, headers=keys.headers("submitter"))).status_code == 204
    assert (await client.get("/api/v1/customers/A1/contacts", headers=keys.headers("submitter"))).json() == []


async def test_max_contacts_per_account(
    client: Client, redis: ArqRedis, run_channels: Any, customers: None, settings: Settings
) -> None:
    assert settings.max_contacts == 5
    for n in range(5):
        address = f"member{n}@example.com"
        await client.post(SUBSCRIBE, json={"account": "A1", "address": address, "channel": "email"})
        code = await _code(redis, run_channels)
        assert (
            await client.post(VERIFY, json={"account": "A1", "address": address, "code": code})
        ).status_code == 201
        await redis.delete(*[k async for k in redis.scan_iter(match="on:code-requests:*")])
    full = await client.post(SUBSCRIBE, json={"account": "A1", "address": FAMILY})
    assert full.status_code == 409 and "max_contacts" in full.text


async def test_a_contact_gets_only_the_notices_it_chose_and_its_holder_can_remove_it(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, customers: None
) -> None:
    from tests.bodies import fault_body, iso
    from tests.flows import approve

    await client.post(SUBSCRIBE, json={"account": "A1", "address": FAMILY, "events": ["restored"]})
    code = await _code(redis, run_channels)
    verified = (await client.post(VERIFY, json={"account": "A1", "address": FAMILY, "code": code})).json()
    assert verified["contact"]["events"] == ["restored"]
    outage = await submit_and_approve(client, keys, fault_body(clock(), scope={"feeders": ["F1"]}))
    await run_channels()
    assert [m for m in await _messages(redis, FAMILY) if m.outage_id == outage["id"]] == []
    restored = {"type": "restored", "reason": "Repaired", "restored_at": iso(clock())}
    await client.post(
        f"/api/v1/outages/{outage['id']}/changes", json=restored, headers=keys.headers("submitter")
    )
    await approve(client, keys, outage["id"], "reviewer")
    await run_channels()
    [message] = [m for m in await _messages(redis, FAMILY) if m.outage_id == outage["id"]]
    assert message.notice_id != "new"
    own = f"{SUBSCRIBE}/A1/{verified['contact']['id']}"
    assert (await client.delete(own, headers={"X-Contact-Token": "y" * 32})).status_code == 404
    assert (await client.delete(own, headers={"X-Contact-Token": verified["token"]})).status_code == 204
    assert (await client.get("/api/v1/customers/A1/contacts", headers=keys.headers("submitter"))).json() == []


async def test_the_subscribe_page_adds_a_contact_in_two_steps(
    client: Client, redis: ArqRedis, run_channels: Any, customers: None
) -> None:
    page = await client.get("/subscribe")
    assert page.status_code == 200 and 'id="subscribe-form"' in page.text
    sent = await client.post("/subscribe", data={"account": "A1", "address": FAMILY, "channel": "sms"})
    assert sent.status_code == 202 and "+86138****0001" in sent.text and 'id="verify-form"' in sent.text
    code = await _code(redis, run_channels)
    bad = await client.post("/subscribe/verify", data={"account": "A1", "address": FAMILY, "code": "12"})
    assert bad.status_code == 400 and "code" in bad.text
    done = await client.post("/subscribe/verify", data={"account": "A1", "address": FAMILY, "code": code})
    assert done.status_code == 201 and 'id="contact-token"' in done.text
    unknown = await client.post(
        "/subscribe", data={"account": "NOBODY", "address": FAMILY}, params={"lang": "en"}
    )
    assert unknown.status_code == 422 and "NOBODY" in unknown.text
