"""Request bodies for the dispatch API, relative to the test clock."""

from datetime import datetime, timedelta
from typing import Any

from tests.conftest import REGION


def iso(moment: datetime) -> str:
    return moment.isoformat()


def outage_body(now: datetime, *, kind: str = "planned", days: float = 8, **fields: Any) -> dict[str, Any]:
    starts = now + timedelta(days=days)
    body: dict[str, Any] = {
        "external_id": "EXT-1",
        "kind": kind,
        "title": "10 kV line 3 maintenance",
        "reason": "Replacing switchgear",
        "region": REGION,
        "area_description": "Keyuan Road 88-200",
        "scope": {"feeders": ["ZJ-10kV-03"], "transformer_areas": ["TA-1"]},
        "starts_at": iso(starts),
        "ends_at": iso(starts + timedelta(hours=8)),
    }
    body.update(fields)
    return body


def fault_body(now: datetime, located_minutes_ago: float = 5, **fields: Any) -> dict[str, Any]:
    located = now - timedelta(minutes=located_minutes_ago)
    body = outage_body(
        now,
        kind="fault",
        external_id="FAULT-1",
        starts_at=iso(located - timedelta(minutes=10)),
        fault_located_at=iso(located),
    )
    del body["ends_at"]
    body.update(fields)
    return body
