"""Steps through the dispatch API that many tests take on the way to what they check."""

from typing import Any

import httpx

from tests.conftest import Keys


async def read_version(client: httpx.AsyncClient, keys: Keys, outage_id: str, who: str) -> str:
    """The ETag a reviewer gets when reading the record (empty if they may not read it)."""
    read = await client.get(f"/api/v1/outages/{outage_id}", headers=keys.headers(who))
    return str(read.headers.get("etag", ""))


async def approve(
    client: httpx.AsyncClient, keys: Keys, outage_id: str, who: str = "reviewer"
) -> httpx.Response:
    """Reads the record as `who` and approves the version read (If-Match)."""
    version = await read_version(client, keys, outage_id, who)
    return await client.post(
        f"/api/v1/outages/{outage_id}/approve", headers={**keys.headers(who), "If-Match": version}
    )


async def reject(
    client: httpx.AsyncClient, keys: Keys, outage_id: str, body: Any, who: str = "reviewer"
) -> httpx.Response:
    version = await read_version(client, keys, outage_id, who)
    return await client.post(
        f"/api/v1/outages/{outage_id}/reject", json=body, headers={**keys.headers(who), "If-Match": version}
    )


async def submit_and_approve(client: httpx.AsyncClient, keys: Keys, body: dict[str, Any]) -> dict[str, Any]:
    """Submits `body` as the submitter and approves it as the reviewer; the record after approval."""
    created = await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))
    assert created.status_code == 201, created.text
    approved = await approve(client, keys, created.json()["id"])
    return approved.json()  # type: ignore[no-any-return]
