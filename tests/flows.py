"""Steps through the dispatch API that many tests take on the way to what they check."""

from typing import Any

import httpx

from tests.conftest import Keys


async def submit_and_approve(client: httpx.AsyncClient, keys: Keys, body: dict[str, Any]) -> dict[str, Any]:
    """Submits `body` as the submitter and approves it as the reviewer; the record after approval."""
    created = await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))
    assert created.status_code == 201, created.text
    approved = await client.post(
        f"/api/v1/outages/{created.json()['id']}/approve", headers=keys.headers("reviewer")
    )
    return approved.json()  # type: ignore[no-any-return]
