"""What happens on the clock after a notice is published. Pure: the record in, timed events out."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

from schemas.kinds import OutageKind, Status
from schemas.outage import Outage
from schemas.rules import FAULT_PUBLICATION_WINDOW


class Event(StrEnum):
    REMINDER = "reminder"
    STARTS = "starts"
    OVERDUE = "overdue"
    FAULT_ALARM = "fault_alarm"
    # Once each, whatever happens to the record later (not replaced by a change).
    RESTORATION_CHECK = "restoration_check"
    SURVEY = "survey"


ONE_OFF = frozenset({Event.FAULT_ALARM, Event.RESTORATION_CHECK, Event.SURVEY})


# Reminder lead per kind; kinds without an entry get none (faults are already dark).
DEFAULT_REMINDERS: Mapping[OutageKind, timedelta] = {
    OutageKind.PLANNED: timedelta(hours=24),
    OutageKind.TEMPORARY: timedelta(hours=24),
    # Supply Business Rules: a reminder 30 minutes before an arrears or violation stop.
    OutageKind.ARREARS: timedelta(minutes=30),
    OutageKind.VIOLATION: timedelta(minutes=30),
}
# A fault review with this little of its 20 minutes left raises the alarm.
FAULT_ALARM_LEFT = timedelta(minutes=5)


class Timed(msgspec.Struct, frozen=True):
    event: Event
    at: datetime


def follow_ups(outage: Outage, reminders: Mapping[OutageKind, timedelta]) -> list[Timed]:
    """The timed events a published record now has; [] once it is cancelled or restored."""
    if outage.status in (Status.CANCELLED, Status.RESTORED) or outage.published_at is None:
        return []
    events = [Timed(Event.STARTS, outage.starts_at)]
    lead = reminders.get(outage.kind)
    if lead is not None and outage.starts_at - lead > outage.published_at:
        events.append(Timed(Event.REMINDER, outage.starts_at - lead))
    if outage.ends_at is not None:
        events.append(Timed(Event.OVERDUE, outage.ends_at))
    return events


def fault_alarm_at(outage: Outage) -> datetime | None:
    if outage.kind is not OutageKind.FAULT or outage.fault_located_at is None:
        return None
    return outage.fault_located_at + FAULT_PUBLICATION_WINDOW - FAULT_ALARM_LEFT


def is_overdue(outage: Outage, now: datetime) -> bool:
    return (
        outage.status is Status.PUBLISHED
        and outage.ends_at is not None
        and outage.ends_at <= now
        and outage.restored_at is None
    )
