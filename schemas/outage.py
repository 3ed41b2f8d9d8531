"""Outage records as submitted by dispatch centres and as stored."""

from datetime import datetime
from typing import Annotated

import msgspec

from schemas.kinds import AreaType, ChangeType, OutageKind, Role, Status

# RFC 3339 with an offset; msgspec refuses a naive timestamp at decode time.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
Code = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class Input(msgspec.Struct, forbid_unknown_fields=True):
    """Base of everything a caller sends: a misspelt field is an error, not silently dropped."""


class Scope(Input):
    feeders: list[Code] = []
    transformer_areas: list[Code] = []
    accounts: list[Code] = []

    def is_empty(self) -> bool:
        return not (self.feeders or self.transformer_areas or self.accounts)


class OutageSubmission(Input):
    external_id: Code
    kind: OutageKind
    title: Text
    reason: LongText
    region: Code
    area_description: LongText
    scope: Scope
    starts_at: AwareDatetime
    # Expected restoration; for a fault, left out means the 95598 service targets apply.
    ends_at: AwareDatetime | None = None
    fault_located_at: AwareDatetime | None = None
    large_area: bool = False
    area_type: AreaType = AreaType.URBAN
    # The affected area as [latitude, longitude] points, closed (first == last); for CAP and maps.
    polygon: list[tuple[float, float]] | None = None


class ChangeRequest(Input):
    type: ChangeType
    reason: LongText
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    restored_at: AwareDatetime | None = None


Version = Annotated[str, msgspec.Meta(max_length=80)]


class Rejection(Input):
    reason: LongText
    # The version reviewed (the record's ETag without quotes), when not sent as If-Match.
    revision: Version | None = None


class ApprovalRequest(Input):
    # The version reviewed (the record's ETag without quotes), when not sent as If-Match.
    revision: Version | None = None


class Actor(msgspec.Struct):
    key_id: str
    name: str
    centre: str


class Approval(msgspec.Struct):
    by: Actor
    role: Role
    at: datetime


class RejectionRecord(msgspec.Struct):
    by: Actor
    at: datetime
    reason: str


class Change(msgspec.Struct, kw_only=True):
    """A change of a published outage: a notice of its own, reviewed like the original."""

    id: str
    type: ChangeType
    reason: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    restored_at: datetime | None = None
    status: Status = Status.PENDING_REVIEW
    submitted_by: Actor
    submitted_at: datetime
    approvals: list[Approval] = []
    rejection: RejectionRecord | None = None
    published_at: datetime | None = None
    # The record's times before this change took effect, for "moved from ... to ..." messages.
    previous_starts_at: datetime | None = None
    previous_ends_at: datetime | None = None
    # Published after the moment it took effect (only a late restoration notice can be).
    minutes_late: float | None = None


class Outage(OutageSubmission, kw_only=True):
    id: str
    centre: str
    status: Status
    submitted_by: Actor
    submitted_at: datetime
    revision: int = 1
    approvals: list[Approval] = []
    rejection: RejectionRecord | None = None
    published_at: datetime | None = None
    # Faults only: minutes from fault location to publication, and beyond the 20 allowed.
    publication_delay_minutes: float | None = None
    minutes_late: float | None = None
    restored_at: datetime | None = None
    changes: list[Change] = []
    # Customers' fault reports this outage explained (counted apart; filled in when read).
    reports: int = 0

    def pending_change(self) -> Change | None:
        for change in self.changes:
            if change.status is Status.PENDING_REVIEW:
                return change
        return None

    def first_announced(self) -> tuple[datetime, datetime | None]:
        """Start and expected restoration as the outage notice gave them, before any change."""
        first = next((c for c in self.changes if c.published_at is not None), None)
        if first is None or first.previous_starts_at is None:
            return self.starts_at, self.ends_at
        return first.previous_starts_at, first.previous_ends_at

    def awaits_review(self) -> bool:
        return self.status is Status.PENDING_REVIEW or self.pending_change() is not None


class HistoryEntry(msgspec.Struct, kw_only=True):
    at: datetime
    action: str
    by: Actor | None
    role: Role | None = None
    change_id: str | None = None
    # field -> [before, after]
    changed: dict[str, list[object]] = {}
    note: str | None = None


class OutagePage(msgspec.Struct):
    items: list[Outage]
    total: int
    limit: int
    offset: int
