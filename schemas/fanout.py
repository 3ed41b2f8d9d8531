"""Pure rules of the delivery engine, the same for every channel: who is owed a notice, when quiet
hours let it go, and the order of delivery statuses."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from schemas.kinds import ACCOUNT_KINDS, POLICY, SCHEDULED_KINDS, NoticeEvent, OutageKind
from schemas.outage import Outage


def release_time(
    kind: OutageKind,
    event: NoticeEvent,
    now: datetime,
    quiet_start: time,
    quiet_end: time,
    zone: ZoneInfo,
    deadline: datetime | None = None,
) -> datetime | None:
    """When an SMS held for quiet hours may go; None: at once (faults and changes always go at once).

    New planned and temporary notices and their reminders wait for the end of quiet hours, unless
    that is after `deadline` (the latest instant the rules allow customers to hear it: the start
    less the kind's lead time): the legal notice period wins over the courtesy of quiet hours.
    """
    if event not in (NoticeEvent.NEW, NoticeEvent.REMINDER) or kind not in SCHEDULED_KINDS:
        return None
    local = now.astimezone(zone)
    moment = local.time()
    if quiet_start > quiet_end:
        quiet = moment >= quiet_start or moment < quiet_end
    else:
        quiet = quiet_start <= moment < quiet_end
    if not quiet:
        return None
    release = local.replace(hour=quiet_end.hour, minute=quiet_end.minute, second=0, microsecond=0)
    release = release if release > local else release + timedelta(days=1)
    if deadline is not None and release > deadline:
        return None
    return release


class AudienceRule(msgspec.Struct, frozen=True, kw_only=True):
    """Whom an outage notice is owed to, as index lookups."""

    feeders: list[str]
    transformer_areas: list[str]
    accounts: list[str]
    important_only: bool


def audience_rule(outage: Outage, temporary_audience: str) -> AudienceRule:
    """Arrears, theft and violation: the named accounts only. Temporary: important customers by default."""
    account_only = outage.kind in ACCOUNT_KINDS
    return AudienceRule(
        feeders=[] if account_only else list(outage.scope.feeders),
        transformer_areas=[] if account_only else list(outage.scope.transformer_areas),
        accounts=list(outage.scope.accounts),
        important_only=POLICY[outage.kind].important_customers and temporary_audience == "important",
    )


# A delivery status only moves to a higher rank; equal ranks are final states.
STATUS_RANK = {
    "sending": 0,
    "accepted": 1,
    "queued": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "opted_out": 3,
    "unconfirmed": 3,
    # The customer was removed from the registry between fan-out and send.
    "removed": 3,
    # Another account of the notice has the same address (phone) and took the one message for both.
    "same_phone": 3,
    # The customer has no address on this channel (no email, say): nothing to send.
    "no_address": 3,
    # A call placed, then the callee pressed 1.
    "calling": 1,
    "confirmed": 4,
}
