"""Logs are JSON lines, one per request and per job, and never carry a whole phone number."""

import io
import json
from typing import Any

import httpx
import pytest

from services.logs import mask
from tests.bodies import outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.flows import approve


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+8613800138000", "+*********8000"),
        ("call 13800138000 now", "call *******8000 now"),
        ("138 0013 8000", "*******8000"),
        (
            "OUT-20261123-6CC494C4 at 2026-11-23T10:00:00+08:00",
            "OUT-20261123-6CC494C4 at 2026-11-23T10:00:00+08:00",
        ),
        ("account 3101150042", "account 3101150042"),
        # Numbers written without the plus, with the international prefix, or with spaces.
        ("from 8613800138000", "from *********8000"),
        ("from 008613800138000", "from ***********8000"),
        ("86 138 0013 8000", "*********8000"),
        ("+86 138-0013-8000", "+*********8000"),
        ("tel:+12025550123 ok", "tel:+*******0123 ok"),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert mask(text) == masked


async def test_requests_and_jobs_log_json_with_masked_phones(
    log_lines: io.StringIO,
    client: httpx.AsyncClient,
    keys: Keys,
    clock: FakeClock,
    redis: Any,
    run_channels: Any,
) -> None:
    await load(redis, row("A1", phone(1)))
    created = (
        await client.post(
            "/api/v1/outages",
            json=outage_body(clock(), scope={"feeders": ["F1"]}),
            headers=keys.headers("submitter"),
        )
    ).json()
    await approve(client, keys, created["id"], "reviewer")
    await client.get(f"/lookup?q={phone(1)}")
    # A number in a path is masked in the request line (the path is its one free-text value).
    await client.get(f"/outages/{phone(1)}")
    await run_channels()
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    requests = [entry for entry in lines if entry["event"] == "request"]
    assert {(r["method"], r["status"]) for r in requests} >= {("POST", 201), ("POST", 200), ("GET", 200)}
    approval = next(r for r in requests if r["path"].endswith("/approve"))
    assert approval["outage_id"] == created["id"]
    jobs = [entry for entry in lines if entry["event"] in ("notice published", "batch sent")]
    assert {j["event"] for j in jobs} == {"notice published", "batch sent"}
    assert all(j["outage_id"] == created["id"] and j["notice_id"] == "new" for j in jobs)
    assert phone(1) not in log_lines.getvalue()
    assert phone(1)[1:] not in log_lines.getvalue()
