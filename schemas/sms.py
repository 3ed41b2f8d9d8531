"""Pure SMS rules: segment counting, quiet hours, who is owed a notice, delivery status order."""

import math
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from schemas.kinds import ACCOUNT_KINDS, POLICY, SCHEDULED_KINDS, NoticeEvent, OutageKind
from schemas.outage import Outage

MAX_BODY_CHARS = 1600
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each takes an escape septet plus itself.
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


class SmsSize(msgspec.Struct, frozen=True):
    encoding: str
    # Septets for GSM-7, UTF-16 code units for UCS-2.
    units: int
    segments: int


def sms_size(text: str) -> SmsSize:
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text):
        units = sum(2 if c in _GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SmsSize(encoding, units, segments)


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
    # Another account of the notice has the same phone and took the one message for both.
    "same_phone": 3,
}
