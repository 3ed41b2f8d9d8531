"""Every protected route refuses a missing key (401) and another region's key (403), from the schema."""

import random
from typing import Any

import httpx
from arq.connections import ArqRedis

from tests.bodies import outage_body
from tests.conftest import FakeClock, Keys

Client = httpx.AsyncClient


async def test_every_protected_route_needs_a_key_of_its_region(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    created = (
        await client.post("/api/v1/outages", json=outage_body(clock()), headers=keys.headers("submitter"))
    ).json()
    schema = (await client.get("/schema/openapi.json")).json()
    protected = [
        (method, path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    ]
    assert len(protected) >= 15
    for method, path in protected:
        url = path.replace("{outage_id}", created["id"]).replace("{account}", "A1")
        missing = await client.request(method, url)
        assert missing.status_code == 401, (method, path, missing.status_code)
        wrong = await client.request(method, url, headers={"Authorization": "Bearer not-a-key"})
        assert wrong.status_code == 401, (method, path)
        if "{outage_id}" in path:
            other = await client.request(method, url, headers=keys.headers("other"), json={})
            assert other.status_code in (400, 403), (method, path, other.status_code)
            if other.status_code == 400:
                # The body was refused before the key was checked against the region: send a valid one.
                body = {"reason": "x"} if path.endswith("/reject") else outage_body(clock())
                if path.endswith("/changes"):
                    body = {"type": "cancel", "reason": "x"}
                other = await client.request(method, url, headers=keys.headers("other"), json=body)
                assert other.status_code == 403, (method, path, other.status_code)


async def test_status_callbacks_in_any_order_end_in_the_final_state(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    from store.ledger import DeliveryLedger

    ledger = DeliveryLedger(redis, "sms")
    final = {"A": "delivered", "B": "undelivered", "C": "failed"}
    for account in final:
        await ledger.advance("O", "new", account, "sending", "run", first=True)
        await ledger.record_sent("O", "new", account, "accepted", f"SM{account}", clock())
    rng = random.Random(7)
    for _ in range(20):
        events = [(a, s) for a, end in final.items() for s in ("sent", "accepted", end)] * 3
        rng.shuffle(events)
        for account, status in events:
            await ledger.advance("O", "new", account, status, "30003" if status == "undelivered" else "")
    assert {a: await ledger.status_of("O", "new", a) for a in final} == final
    counts = await ledger.counts("O", "new")
    assert (counts["delivered"], counts["undelivered"], counts["failed"], counts.get("sent", 0)) == (
        1,
        1,
        1,
        0,
    )
