"""The storm view's rules, pure: which published outages count as out now, restored in the last
day or out at a past hour, and how counts are shown without telling individual customers apart.
The customer counts themselves come from the registry (store/storm.py): a customer in two
outages is counted once."""

from datetime import datetime, timedelta

import msgspec

from schemas.deliveries import Delivery
from schemas.fault_reports import SuspectedOutage
from schemas.public import PublicOutage, is_public, phase
from schemas.reviews import ReviewItem

TREND_HOURS = 24
RESTORED_WITHIN = timedelta(hours=24)


class Count(msgspec.Struct, frozen=True, kw_only=True):
    """A number of customers as shown: `value` is null and `shown` reads "< N" when it is below
    the threshold (a handful of customers could be told apart)."""

    value: int | None
    shown: str


class District(msgspec.Struct, frozen=True, kw_only=True):
    region: str
    name: str
    outages: int
    customers_out: Count
    # Of the district's registered customers; null when the count is hidden or nobody is registered.
    share: float | None
    earliest_restoration: datetime | None
    latest_restoration: datetime | None


class TrendPoint(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    customers_out: Count


class StormSummary(msgspec.Struct, frozen=True, kw_only=True):
    generated_at: datetime
    customers_out: Count
    outages_active: int
    customers_restored_24h: Count
    districts: list[District]
    trend: list[TrendPoint]


def shown_count(value: int, minimum: int) -> Count:
    if value == 0:
        return Count(value=0, shown="0")
    if value < minimum:
        return Count(value=None, shown=f"< {minimum}")
    return Count(value=value, shown=f"{value:,}")


def active(outages: list[PublicOutage], now: datetime) -> list[PublicOutage]:
    """Public outages in progress at `now`."""
    return [o for o in outages if is_public(o.kind) and phase(o, now) == "in_progress"]


def restored_recently(outages: list[PublicOutage], now: datetime) -> list[PublicOutage]:
    return [
        o
        for o in outages
        if is_public(o.kind)
        and not o.cancelled
        and o.restored_at is not None
        and now - RESTORED_WITHIN <= o.restored_at <= now
    ]


def out_at(outages: list[PublicOutage], moment: datetime) -> list[PublicOutage]:
    """Those that were out at a past `moment`: begun, and not yet restored then."""
    return [
        o
        for o in outages
        if is_public(o.kind)
        and not o.cancelled
        and o.starts_at <= moment
        and (o.restored_at is None or o.restored_at > moment)
    ]


def trend_moments(now: datetime) -> list[datetime]:
    """Each full hour of the last day before `now`, oldest first, then `now`."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    if hour == now:
        hour -= timedelta(hours=1)
    return [hour - timedelta(hours=n) for n in range(TREND_HOURS - 1, -1, -1)] + [now]


def restoration_span(outages: list[PublicOutage]) -> tuple[datetime | None, datetime | None]:
    """The earliest and latest expected restoration of a district's outages (those that say)."""
    ends = [o.ends_at for o in outages if o.ends_at is not None]
    return (min(ends), max(ends)) if ends else (None, None)


class NoticeShare(msgspec.Struct, frozen=True, kw_only=True):
    """How far one notice of an outage in progress has reached its SMS recipients."""

    outage_id: str
    title: str
    notice: str
    recipients: int
    handed_over: int
    delivered: int
    failed: int
    # Delivered (or, before receipts, handed over) of the recipients; null with none.
    share: float | None


def notice_share(outage_id: str, title: str, notice: str, counts: Delivery) -> NoticeShare:
    handed = counts.accepted + counts.sent + counts.delivered + counts.undelivered
    reached = counts.delivered or handed
    return NoticeShare(
        outage_id=outage_id,
        title=title,
        notice=notice,
        recipients=counts.recipients,
        handed_over=handed,
        delivered=counts.delivered,
        failed=counts.failed + counts.undelivered,
        share=round(reached / counts.recipients, 4) if counts.recipients else None,
    )


class DispatchStorm(msgspec.Struct, frozen=True, kw_only=True):
    """The storm view of a region's dispatch centre: the public figures with exact counts, and
    what the public does not see."""

    region: str
    summary: StormSummary
    # Faults awaiting review: past their 20 minutes after location, and still within them.
    fault_clock_breached: list[ReviewItem]
    fault_clock_running: list[ReviewItem]
    overdue_restorations: list[ReviewItem]
    repair_orders_open: int
    repair_orders_accept_overdue: int
    suspected_outages: list[SuspectedOutage]
    deliveries: list[NoticeShare]
