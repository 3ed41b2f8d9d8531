"""What a reviewer sees for each notice awaiting review."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from schemas.kinds import OutageKind, Role
from schemas.notices import ORIGINAL_NOTICE
from schemas.outage import Actor, Outage
from schemas.rules import LeadTime, minutes_left, review_deadline
from schemas.timeline import FAULT_ALARM_LEFT
from schemas.workflow import missing_roles, review_version


class ReviewItem(msgspec.Struct, kw_only=True):
    outage_id: str
    notice: str
    # The version to approve or reject (If-Match); empty for an overdue item, which awaits no review.
    version: str
    change_type: str | None
    kind: OutageKind
    title: str
    area_description: str
    large_area: bool
    submitted_by: Actor
    submitted_at: datetime
    deadline: datetime
    minutes_left: float
    # Faults only: what remains of the 20 minutes after the fault was located (negative: late).
    fault_minutes_left: float | None
    awaiting: list[Role]
    # A fault with 5 minutes or less of its 20 left: review it first.
    urgent: bool = False
    # Not a notice to review: published, past its expected restoration, not marked restored.
    # The centre should publish "restoration delayed" or "restored".
    overdue: bool = False
    # Customers' fault reports the outage explained.
    reports: int = 0
    # Important customers (ledger entries) whose calls about this notice were never confirmed:
    # a person should call them.
    unconfirmed_important: list[str] = []


def review_item(outage: Outage, now: datetime, lead_times: Mapping[OutageKind, LeadTime]) -> ReviewItem:
    change = outage.pending_change()
    deadline = review_deadline(outage, lead_times)
    fault_left = None
    if outage.kind is OutageKind.FAULT and change is None:
        fault_left = minutes_left(deadline, now)
    return ReviewItem(
        outage_id=outage.id,
        notice=change.id if change else ORIGINAL_NOTICE,
        version=review_version(outage),
        change_type=change.type.value if change else None,
        kind=outage.kind,
        title=outage.title,
        area_description=outage.area_description,
        large_area=outage.large_area,
        submitted_by=change.submitted_by if change else outage.submitted_by,
        submitted_at=change.submitted_at if change else outage.submitted_at,
        deadline=deadline,
        minutes_left=minutes_left(deadline, now),
        fault_minutes_left=fault_left,
        awaiting=missing_roles(outage),
        urgent=fault_left is not None and fault_left <= FAULT_ALARM_LEFT.total_seconds() / 60,
    )


def _follow_up_item(
    outage: Outage, notice: str, deadline: datetime, now: datetime, **flags: Any
) -> ReviewItem:
    """Not a notice to review (no version to approve): something about a published outage a
    person must act on."""
    return ReviewItem(
        outage_id=outage.id,
        notice=notice,
        version="",
        change_type=None,
        kind=outage.kind,
        title=outage.title,
        area_description=outage.area_description,
        large_area=outage.large_area,
        submitted_by=outage.submitted_by,
        submitted_at=outage.submitted_at,
        deadline=deadline,
        minutes_left=minutes_left(deadline, now),
        fault_minutes_left=None,
        awaiting=[],
        **flags,
    )


def unconfirmed_item(outage: Outage, notice_id: str, accounts: list[str], now: datetime) -> ReviewItem:
    """Important customers whose calls went unconfirmed, to be called by a person."""
    return _follow_up_item(outage, notice_id, now, now, urgent=True, unconfirmed_important=sorted(accounts))


def overdue_item(outage: Outage, now: datetime) -> ReviewItem:
    assert outage.ends_at is not None
    return _follow_up_item(outage, "overdue", outage.ends_at, now, overdue=True)
