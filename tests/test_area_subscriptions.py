"""Anyone follows the public notices of a street address, feeder or transformer area, with double
opt-in; account-level stoppages never reach them."""

import re
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from services.customers import import_customers
from store.outbox import Outbox
from tests.bodies import outage_body
from tests.conftest import FakeClock, Keys, snapshot
from tests.customers import phone
from tests.flows import submit_and_approve

Client = httpx.AsyncClient
AREAS = "/api/v1/subscriptions/areas"
NEIGHBOUR = phone(70)


@pytest.fixture
async def street(redis: ArqRedis) -> None:
    header = "account,name,phone,region,feeder,transformer_area,important,language,address\n"
    rows = [
        f"A1,Name,{phone(1)},310115,F1,TA-1,0,zh-CN,张江路292号\n",
        f"A2,Name,{phone(2)},310115,F2,TA-2,0,zh-CN,科苑路88号\n",
    ]
    await import_customers(redis, [header, *rows])


async def _outbox(redis: ArqRedis) -> list[Any]:
    _, messages = await Outbox(redis).page(0, 500)
    return messages


async def _code(redis: ArqRedis, run_channels: Any, to: str) -> str:
    await run_channels()
    [message, *_] = [m for m in await _outbox(redis) if m.to == to and m.outage_id == "area-codes"]
    found = re.search(r"(\d{6})", message.body)
    assert found is not None
    return found.group(1)


async def test_a_neighbour_follows_a_street_address_after_confirming_and_gets_public_notices_only(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, street: None
) -> None:
    asked = await client.post(
        AREAS, json={"region": "310115", "street_address": "张江路 ２９２", "address": NEIGHBOUR}
    )
    assert asked.status_code == 202, asked.text
    assert asked.json()["covers"] == ["F1", "TA-1"]
    code = await _code(redis, run_channels, NEIGHBOUR)
    # Not confirmed yet: nothing.
    first = await submit_and_approve(
        client, keys, outage_body(clock(), external_id="E1", scope={"feeders": ["F1"]})
    )
    await run_channels()
    assert [m for m in await _outbox(redis) if m.to == NEIGHBOUR and m.outage_id.startswith("area:")] == []
    wrong = await client.post(
        f"{AREAS}/confirm", json={"id": asked.json()["id"], "code": f"{(int(code) + 1) % 10**6:06d}"}
    )
    assert wrong.status_code == 422 and "code" in wrong.text
    confirmed = await client.post(f"{AREAS}/confirm", json={"id": asked.json()["id"], "code": code})
    assert confirmed.status_code == 201, confirmed.text
    assert "code_sha256" not in confirmed.text or confirmed.json()["subscription"]["code_sha256"] == ""

    planned = await submit_and_approve(
        client, keys, outage_body(clock(), external_id="E2", scope={"feeders": ["F1"]})
    )
    elsewhere = await submit_and_approve(
        client, keys, outage_body(clock(), external_id="E3", scope={"feeders": ["F2"]})
    )
    arrears = outage_body(clock(), kind="arrears", days=4, external_id="AR", scope={"accounts": ["A1"]})
    stop = await submit_and_approve(client, keys, arrears)
    await run_channels()
    got = [m.outage_id for m in await _outbox(redis) if m.to == NEIGHBOUR and m.outage_id.startswith("area:")]
    assert got == [f"area:{planned['id']}:new"], (first["id"], elsewhere["id"], stop["id"])

    removed = await client.delete(
        f"{AREAS}/{asked.json()['id']}", headers={"X-Contact-Token": confirmed.json()["token"]}
    )
    assert removed.status_code == 204
    again = await submit_and_approve(
        client, keys, outage_body(clock(), external_id="E4", scope={"feeders": ["F1"]})
    )
    await run_channels()
    assert not [
        m for m in await _outbox(redis) if m.to == NEIGHBOUR and m.outage_id == f"area:{again['id']}:new"
    ]


async def test_an_email_follows_a_transformer_area(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, street: None
) -> None:
    asked = await client.post(
        AREAS,
        json={
            "region": "310115",
            "transformer_area": "TA-2",
            "address": "Office@Example.com",
            "channel": "email",
        },
    )
    assert asked.status_code == 202, asked.text
    code = await _code(redis, run_channels, "office@example.com")
    assert (
        await client.post(f"{AREAS}/confirm", json={"id": asked.json()["id"], "code": code})
    ).status_code == 201
    outage = await submit_and_approve(
        client, keys, outage_body(clock(), scope={"transformer_areas": ["TA-2"]})
    )
    await run_channels()
    [email] = [
        m for m in await _outbox(redis) if m.to == "office@example.com" and m.outage_id.startswith("area:")
    ]
    assert email.outage_id == f"area:{outage['id']}:new" and email.encoding == "email"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"region": "310115", "address": NEIGHBOUR}, 422, "street_address"),
        (
            {"region": "310115", "street_address": "张江路292号", "feeder": "F1", "address": NEIGHBOUR},
            422,
            "street_address",
        ),
        ({"region": "310115", "street_address": "无此路1号", "address": NEIGHBOUR}, 422, "street_address"),
        ({"region": "310115", "feeder": "F9", "address": NEIGHBOUR}, 422, "feeder"),
        ({"region": "310115", "feeder": "F1", "address": "not a phone"}, 422, "address"),
        ({"region": "310115", "feeder": "F1", "address": NEIGHBOUR, "channel": "voice"}, 422, "channel"),
        ({"region": "310115", "feeder": "F1", "address": NEIGHBOUR, "color": "red"}, 400, "color"),
    ],
)
async def test_bad_area_subscriptions_name_the_field_and_store_nothing(
    client: Client, redis: ArqRedis, street: None, body: dict[str, Any], status: int, field: str
) -> None:
    before = await snapshot(redis)
    response = await client.post(AREAS, json=body)
    assert response.status_code == status, response.text
    assert field in response.text
    assert await snapshot(redis) == before
