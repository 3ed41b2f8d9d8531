"""What the public sees of an outage: no scope accounts, no people, no marketing stoppages."""

from datetime import datetime, timedelta

import msgspec

from schemas.kinds import ACCOUNT_KINDS, EVENT_OF_CHANGE, NoticeEvent, OutageKind, Status
from schemas.outage import Outage

# How long a finished outage stays on the list after it ended.
SHOWN_AFTER_END = timedelta(hours=24)


class PublicUpdate(msgspec.Struct, kw_only=True):
    notice: str
    event: NoticeEvent
    published_at: datetime
    reason: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    restored_at: datetime | None = None


class PublicOutage(msgspec.Struct, kw_only=True):
    id: str
    region: str
    kind: OutageKind
    title: str
    reason: str
    area_description: str
    feeders: list[str]
    transformer_areas: list[str]
    starts_at: datetime
    ends_at: datetime | None
    restored_at: datetime | None
    cancelled: bool
    published_at: datetime
    updated_at: datetime
    polygon: list[tuple[float, float]] | None = None
    # Oldest first: the outage notice, then each published change.
    updates: list[PublicUpdate] = []


def is_public(kind: OutageKind) -> bool:
    return kind not in ACCOUNT_KINDS


def public_view(outage: Outage) -> PublicOutage:
    """The record as published so far; `outage` must be published (its notice approved)."""
    assert outage.published_at is not None
    first_start, first_end = outage.first_announced()
    updates = [
        PublicUpdate(
            notice="new",
            event=NoticeEvent.NEW,
            published_at=outage.published_at,
            reason=outage.reason,
            starts_at=first_start,
            ends_at=first_end,
        )
    ]
    for change in outage.changes:
        if change.published_at is None:
            continue
        updates.append(
            PublicUpdate(
                notice=change.id,
                event=EVENT_OF_CHANGE[change.type],
                published_at=change.published_at,
                reason=change.reason,
                starts_at=change.starts_at,
                ends_at=change.ends_at,
                restored_at=change.restored_at
                or (outage.restored_at if change.type.value == "restored" else None),
            )
        )
    return PublicOutage(
        id=outage.id,
        region=outage.region,
        kind=outage.kind,
        title=outage.title,
        reason=outage.reason,
        area_description=outage.area_description,
        feeders=list(outage.scope.feeders),
        transformer_areas=list(outage.scope.transformer_areas),
        starts_at=outage.starts_at,
        ends_at=outage.ends_at,
        restored_at=outage.restored_at,
        cancelled=outage.status is Status.CANCELLED,
        published_at=outage.published_at,
        updated_at=updates[-1].published_at,
        polygon=outage.polygon,
        updates=updates,
    )


def phase(outage: PublicOutage, now: datetime) -> str:
    """upcoming, in_progress, restored or cancelled, as of `now`."""
    if outage.cancelled:
        return "cancelled"
    if outage.restored_at is not None:
        return "restored"
    if now < outage.starts_at:
        return "upcoming"
    return "in_progress"


# What matters to a customer now: an outage under way, then one coming, then the ended ones.
_PHASE_ORDER = {"in_progress": 0, "upcoming": 1, "restored": 2, "cancelled": 2}


def customer_order(outages: list[PublicOutage], now: datetime) -> list[PublicOutage]:
    """In progress (latest news first), upcoming (soonest first), then restored or cancelled
    (latest news first)."""

    def rank(outage: PublicOutage) -> tuple[int, float]:
        current = phase(outage, now)
        soonest = outage.starts_at.timestamp() if current == "upcoming" else -outage.updated_at.timestamp()
        return _PHASE_ORDER[current], soonest

    return sorted(outages, key=rank)


def shown_until(outage: PublicOutage) -> datetime:
    """The list keeps an outage until a day after it ended (or would have started, if cancelled)."""
    if outage.cancelled:
        return outage.starts_at + SHOWN_AFTER_END
    end = outage.restored_at or outage.ends_at or outage.starts_at
    return end + SHOWN_AFTER_END


class WebEvent(msgspec.Struct):
    """What live pages are told: an item of a region changed (a public outage and its notice; on
    the dispatch channel a repair order or suspected outage, `notice` saying which)."""

    region: str
    outage_id: str
    notice: str
    version: int
