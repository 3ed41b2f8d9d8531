"""The compliance report: did each published notice meet its rule, and did it reach people. Pure."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from schemas.followups import SurveyCounts, in_time_share
from schemas.kinds import EVENT_OF_CHANGE, NoticeEvent, OutageKind
from schemas.outage import Outage
from schemas.rules import FAULT_PUBLICATION_WINDOW, LeadTime

# Minutes from fault location to publication: the compliance histogram and /metrics share them.
FAULT_DELAY_BUCKETS = (5, 10, 15, 20, 30, 60)


class NoticeRow(msgspec.Struct, kw_only=True):
    outage_id: str
    notice: str
    event: NoticeEvent
    kind: OutageKind
    title: str
    published_at: datetime
    # When customers owed an SMS had the first one handed to the provider (the page, published at
    # approval, when nobody was owed one); None while every SMS is still queued or held.
    notified_at: datetime | None = None
    starts_at: datetime
    # planned/temporary/...: hours of notice given (from notified_at) and required; faults:
    # minutes from location.
    lead_hours: float | None = None
    required_lead_hours: float | None = None
    fault_delay_minutes: float | None = None
    met: bool
    minutes_late: float = 0.0
    approvers: list[str] = []
    recipients: int = 0
    reachable: int = 0
    handed_over: int = 0
    delivered: int = 0
    # Delivered share of the reachable when receipts came back, else handed-over share.
    delivery_rate: float | None = None
    below_threshold: bool = False
    # Customers' fault reports the outage explained (outage notices only).
    reports: int = 0
    # The follow-up survey (回访) of the outage notice: asked, answered, said they got it in time.
    surveyed: int = 0
    survey_answered: int = 0
    received_in_time: int = 0
    not_received_in_time: int = 0
    received_in_time_share: float | None = None
    survey_below_threshold: bool = False
    survey_comments: list[str] = []
    # Calls to important customers: placed, confirmed (pressed 1), the last confirmation, and the
    # lead time that confirmation left before the start (the rule's 24 hours of a temporary
    # outage count from it).
    calls: int = 0
    calls_confirmed: int = 0
    # Every per-customer channel: recipients and messages handed over (SMS, email, voice).
    by_channel: dict[str, dict[str, int]] = {}
    last_confirmed_at: datetime | None = None
    confirmed_lead_hours: float | None = None


class KindSummary(msgspec.Struct):
    kind: OutageKind
    notices: int
    met: int
    met_share: float
    surveyed: int = 0
    survey_answered: int = 0
    received_in_time_share: float | None = None


class FaultDelays(msgspec.Struct):
    count: int
    median_minutes: float | None
    p90_minutes: float | None
    max_minutes: float | None
    within_20: int
    # "0-5", "5-10", ... "60+": how many faults were published that many minutes after location.
    histogram: dict[str, int]


class ComplianceReport(msgspec.Struct, kw_only=True):
    region: str
    period_from: datetime
    period_to: datetime
    delivery_threshold: float
    by_kind: list[KindSummary]
    fault_delays: FaultDelays
    breaches: list[NoticeRow]
    below_threshold: list[NoticeRow]
    # Outage notices whose surveyed recipients mostly did not get them in time.
    survey_flagged: list[NoticeRow]
    notices: list[NoticeRow]


def _percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _histogram(delays: Sequence[float]) -> dict[str, int]:
    labels = [
        f"{low}-{high}" for low, high in zip((0, *FAULT_DELAY_BUCKETS), FAULT_DELAY_BUCKETS, strict=False)
    ]
    labels.append(f"{FAULT_DELAY_BUCKETS[-1]}+")
    counts = dict.fromkeys(labels, 0)
    for delay in delays:
        index = next(
            (i for i, high in enumerate(FAULT_DELAY_BUCKETS) if delay < high), len(FAULT_DELAY_BUCKETS)
        )
        counts[labels[index]] += 1
    return counts


def notice_rows(outage: Outage, lead_times: Mapping[OutageKind, LeadTime]) -> list[NoticeRow]:
    """One row per published notice of the record: the outage notice, then each published change."""
    if outage.published_at is None:
        return []
    original_start, _ = outage.first_announced()

    def row(**fields: Any) -> NoticeRow:
        return NoticeRow(outage_id=outage.id, kind=outage.kind, title=outage.title, **fields)

    new = {
        "notice": "new",
        "event": NoticeEvent.NEW,
        "published_at": outage.published_at,
        "starts_at": original_start,
        "approvers": [a.by.name for a in outage.approvals],
    }
    if outage.kind is OutageKind.FAULT:
        late = outage.minutes_late or 0.0
        rows = [
            row(**new, fault_delay_minutes=outage.publication_delay_minutes, met=late == 0, minutes_late=late)
        ]
    else:
        lead = lead_times[outage.kind]
        given = original_start - outage.published_at
        rows = [
            row(
                **new,
                lead_hours=round(given / timedelta(hours=1), 2),
                required_lead_hours=lead.minimum / timedelta(hours=1),
                met=given >= lead.minimum,
                minutes_late=max(0.0, round((lead.minimum - given) / timedelta(minutes=1), 2)),
            )
        ]
    for change in outage.changes:
        if change.published_at is not None:
            rows.append(
                row(
                    notice=change.id,
                    event=EVENT_OF_CHANGE[change.type],
                    published_at=change.published_at,
                    starts_at=change.previous_starts_at or outage.starts_at,
                    met=not change.minutes_late,
                    minutes_late=change.minutes_late or 0.0,
                    approvers=[a.by.name for a in change.approvals],
                )
            )
    return rows


def _measured_from_notification(row: NoticeRow, reachable: int, first_handed_over: int | None) -> NoticeRow:
    """The lead time as customers got it: from the first SMS handed over when anyone was owed one
    (quiet hours, a slow fan-out), else from publication of the page."""
    if row.event is not NoticeEvent.NEW or row.required_lead_hours is None:
        return row
    if reachable <= 0:
        return msgspec.structs.replace(row, notified_at=row.published_at)
    if first_handed_over is None:
        return row
    notified = datetime.fromtimestamp(first_handed_over, tz=row.published_at.tzinfo)
    required = timedelta(hours=row.required_lead_hours)
    given = row.starts_at - notified
    return msgspec.structs.replace(
        row,
        notified_at=notified,
        lead_hours=round(given / timedelta(hours=1), 2),
        met=given >= required,
        minutes_late=max(0.0, round((required - given) / timedelta(minutes=1), 2)),
    )


def with_delivery(row: NoticeRow, counts: Mapping[str, int], threshold: float) -> NoticeRow:
    recipients = counts.get("recipients", 0)
    reachable = (
        recipients - counts.get("opted_out", 0) - counts.get("removed", 0) - counts.get("same_phone", 0)
    )
    handed = sum(counts.get(s, 0) for s in ("accepted", "sent", "delivered", "undelivered"))
    delivered = counts.get("delivered", 0)
    receipts = delivered + counts.get("undelivered", 0)
    rate = None
    if reachable > 0:
        rate = round((delivered if receipts else handed) / reachable, 4)
    row = _measured_from_notification(row, reachable, counts.get("first_handed_over"))
    return msgspec.structs.replace(
        row,
        recipients=recipients,
        reachable=max(0, reachable),
        handed_over=handed,
        delivered=delivered,
        delivery_rate=rate,
        below_threshold=rate is not None and rate < threshold,
    )


def with_follow_up(row: NoticeRow, reports: int, survey: SurveyCounts, threshold: float) -> NoticeRow:
    """The outage notice's row with its explained reports and its survey's answers."""
    share = in_time_share(survey)
    return msgspec.structs.replace(
        row,
        reports=reports,
        surveyed=survey.sampled,
        survey_answered=survey.answered,
        received_in_time=survey.in_time,
        not_received_in_time=survey.not_in_time,
        received_in_time_share=share,
        survey_below_threshold=share is not None and share < threshold,
        survey_comments=survey.comments,
    )


def with_channels(row: NoticeRow, counts: Mapping[str, Mapping[str, int]]) -> NoticeRow:
    handed = ("accepted", "sent", "delivered", "undelivered", "calling", "confirmed")
    return msgspec.structs.replace(
        row,
        by_channel={
            name: {"recipients": c.get("recipients", 0), "handed_over": sum(c.get(s, 0) for s in handed),
                   "opted_out": c.get("opted_out", 0)}
            for name, c in counts.items()
        },
    )  # fmt: skip


def with_calls(row: NoticeRow, counts: Mapping[str, int], confirmed_at: Sequence[datetime]) -> NoticeRow:
    """The notice's row with its calls and when the last of them was confirmed."""
    last = max(confirmed_at, default=None)
    lead = None if last is None else round((row.starts_at - last) / timedelta(hours=1), 2)
    placed = sum(counts.get(s, 0) for s in ("calling", "confirmed", "unconfirmed"))
    return msgspec.structs.replace(
        row,
        calls=placed,
        calls_confirmed=len(confirmed_at),
        last_confirmed_at=last,
        confirmed_lead_hours=lead,
    )


def compliance_report(
    region: str, period_from: datetime, period_to: datetime, rows: Sequence[NoticeRow], threshold: float
) -> ComplianceReport:
    rows = sorted(
        (r for r in rows if period_from <= r.published_at <= period_to), key=lambda r: r.published_at
    )
    originals = [r for r in rows if r.event is NoticeEvent.NEW]
    by_kind = []
    for kind in OutageKind:
        mine = [r for r in originals if r.kind is kind]
        if mine:
            met = sum(r.met for r in mine)
            in_time = SurveyCounts(
                in_time=sum(r.received_in_time for r in mine),
                not_in_time=sum(r.not_received_in_time for r in mine),
            )
            by_kind.append(
                KindSummary(
                    kind,
                    len(mine),
                    met,
                    round(met / len(mine), 4),
                    surveyed=sum(r.surveyed for r in mine),
                    survey_answered=sum(r.survey_answered for r in mine),
                    received_in_time_share=in_time_share(in_time),
                )
            )
    delays = [r.fault_delay_minutes for r in originals if r.fault_delay_minutes is not None]
    window = FAULT_PUBLICATION_WINDOW / timedelta(minutes=1)
    return ComplianceReport(
        region=region,
        period_from=period_from,
        period_to=period_to,
        delivery_threshold=threshold,
        by_kind=by_kind,
        fault_delays=FaultDelays(
            count=len(delays),
            median_minutes=_percentile(delays, 0.5),
            p90_minutes=_percentile(delays, 0.9),
            max_minutes=max(delays) if delays else None,
            within_20=sum(d <= window for d in delays),
            histogram=_histogram(delays),
        ),
        breaches=[r for r in rows if not r.met],
        below_threshold=[r for r in rows if r.below_threshold],
        survey_flagged=[r for r in rows if r.survey_below_threshold],
        notices=rows,
    )
