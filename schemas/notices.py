"""A published notice: what the publish job hands to every channel."""

from datetime import datetime

import msgspec

from schemas.errors import NotFound
from schemas.kinds import EVENT_OF_CHANGE, NoticeEvent
from schemas.outage import Change, Outage

ORIGINAL_NOTICE = "new"
REMINDER_PREFIX = "reminder-"
STARTED_PREFIX = "started-"


def reminder_id(outage: Outage) -> str:
    """One reminder per start time: a postponed outage is reminded of again."""
    return f"{REMINDER_PREFIX}{int(outage.starts_at.timestamp())}"


def started_id(outage: Outage) -> str:
    return f"{STARTED_PREFIX}{int(outage.starts_at.timestamp())}"


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    event: NoticeEvent
    published_at: datetime
    # The record as it stands after this notice took effect.
    outage: Outage
    change: Change | None = None


def published_notices(outage: Outage) -> list[tuple[str, datetime]]:
    """The outage notice and each published change: (notice id, publication time)."""
    found = [(ORIGINAL_NOTICE, outage.published_at)] if outage.published_at is not None else []
    found += [(c.id, c.published_at) for c in outage.changes if c.published_at is not None]
    return found


def notice_of(outage: Outage, notice_id: str) -> Notice:
    """The published notice `notice_id` ("new", a change id or a reminder id) of an outage."""
    for prefix, event in ((REMINDER_PREFIX, NoticeEvent.REMINDER), (STARTED_PREFIX, NoticeEvent.STARTED)):
        if notice_id.startswith(prefix) and outage.published_at is not None:
            return Notice(id=notice_id, event=event, published_at=outage.published_at, outage=outage)
    if notice_id == ORIGINAL_NOTICE:
        if outage.published_at is None:
            raise NotFound(f"outage {outage.id} is not published", rule="published")
        return Notice(id=notice_id, event=NoticeEvent.NEW, published_at=outage.published_at, outage=outage)
    for change in outage.changes:
        if change.id == notice_id and change.published_at is not None:
            return Notice(
                id=notice_id,
                event=EVENT_OF_CHANGE[change.type],
                published_at=change.published_at,
                outage=outage,
                change=change,
            )
    raise NotFound(f"outage {outage.id} has no published notice {notice_id}", rule="published")
