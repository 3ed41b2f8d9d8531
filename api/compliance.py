"""For dispatch centres: the compliance report (JSON, CSV, a page with charts) and the archive."""

import csv
import io
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Template
from redis.asyncio import Redis

from api.query_times import RFC3339, query_time
from publishers.sms_text import LANGUAGES, SmsTexts
from schemas.compliance import ComplianceReport, NoticeRow, compliance_report, notice_rows, with_delivery
from schemas.errors import Forbidden
from schemas.keys import ApiKey
from schemas.notices import notice_of
from schemas.outage import Outage
from services.outages import OutageService
from store.dispatch import DispatchLedger
from store.sms import SmsLedger

DEFAULT_PERIOD = timedelta(days=30)
PeriodStart = Annotated[str | None, QueryParameter(name="from", description=RFC3339, max_length=64)]
PeriodEnd = Annotated[str | None, QueryParameter(name="to", description=RFC3339, max_length=64)]
Region = Annotated[str | None, QueryParameter(description="defaults to the key's region")]
Format = Annotated[str | None, QueryParameter(description="json (default) or csv")]


async def _published_in(
    outages: OutageService, caller: ApiKey, period_from: datetime, period_to: datetime
) -> list[tuple[Outage, NoticeRow]]:
    """The notices published in the period (read through the publication index, not a scan)."""
    return [
        (outage, row)
        for outage in await outages.published_between(caller, period_from, period_to)
        for row in notice_rows(outage, outages.settings.lead_times)
        if period_from <= row.published_at <= period_to
    ]


async def _rows(
    outages: OutageService, caller: ApiKey, redis: Redis, period_from: datetime, period_to: datetime
) -> list[NoticeRow]:
    ledger = SmsLedger(redis)
    rows = []
    for outage, row in await _published_in(outages, caller, period_from, period_to):
        counts = await ledger.counts(outage.id, row.notice)
        rows.append(with_delivery(row, counts, outages.settings.delivery_threshold))
    return rows


def _period(outages: OutageService, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    period_end = query_time(end, "to") or outages.clock()
    return query_time(start, "from") or period_end - DEFAULT_PERIOD, period_end


def _region(caller: ApiKey, region: str | None) -> str:
    if region is not None and region != caller.region:
        raise Forbidden(
            f"region: this key reads region {caller.region}, not {region}", field="region", rule="region"
        )
    return caller.region


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    """Text that a spreadsheet would evaluate, quoted so it shows as typed; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(header: list[str], rows: list[list[Any]], name: str) -> Response[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_inert(v) for v in row] for row in rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


async def build_report(
    outages: OutageService, caller: ApiKey, redis: Redis, start: str | None, end: str | None
) -> ComplianceReport:
    period_from, period_to = _period(outages, start, end)
    rows = await _rows(outages, caller, redis, period_from, period_to)
    return compliance_report(caller.region, period_from, period_to, rows, outages.settings.delivery_threshold)


@get(
    "/api/v1/compliance",
    tags=["compliance"],
    security=[{"bearer": []}],
    summary="Which notices met their rule, how late the rest were, and how delivery went",
    description="Period defaults to the last 30 days. format=csv gives one row per published notice.",
)
async def compliance(
    caller: NamedDependency[ApiKey],
    outages: NamedDependency[OutageService],
    redis: NamedDependency[Redis],
    region: Region = None,
    start: PeriodStart = None,
    end: PeriodEnd = None,
    format: Format = None,
) -> Response[Any]:
    _region(caller, region)
    report = await build_report(outages, caller, redis, start, end)
    if format != "csv":
        return Response(report)
    header = ["outage_id", "notice", "event", "kind", "title", "published_at", "starts_at", "lead_hours",
              "required_lead_hours", "fault_delay_minutes", "met", "minutes_late", "recipients", "reachable",
              "handed_over", "delivered", "delivery_rate", "below_threshold"]  # fmt: skip
    rows = [[getattr(r, h) if not isinstance(getattr(r, h), datetime) else getattr(r, h).isoformat() for h in header]
            for r in report.notices]  # fmt: skip
    return _csv(header, rows, f"compliance-{caller.region}")


class ArchivedNotice(msgspec.Struct, kw_only=True):
    outage_id: str
    notice: str
    event: str
    kind: str
    published_at: datetime
    approvers: list[str]
    channels: dict[str, str]
    recipients: int
    # The SMS text per language, as the templates render it.
    content: dict[str, str]


@get(
    "/api/v1/archive",
    tags=["compliance"],
    security=[{"bearer": []}],
    summary="Every published notice: when, who approved it, which channels took it, to how many, what it said",
)
async def archive(
    caller: NamedDependency[ApiKey],
    outages: NamedDependency[OutageService],
    redis: NamedDependency[Redis],
    sms_texts: NamedDependency[SmsTexts],
    start: PeriodStart = None,
    end: PeriodEnd = None,
    format: Format = None,
) -> Response[Any]:
    period_from, period_to = _period(outages, start, end)
    dispatch, ledger = DispatchLedger(redis), SmsLedger(redis)
    archived = []
    for outage, row in await _published_in(outages, caller, period_from, period_to):
        notice = notice_of(outage, row.notice)
        archived.append(
            ArchivedNotice(
                outage_id=outage.id,
                notice=row.notice,
                event=row.event.value,
                kind=outage.kind.value,
                published_at=row.published_at,
                approvers=row.approvers,
                channels=await dispatch.handed_over(outage.id, row.notice),
                recipients=(await ledger.counts(outage.id, row.notice)).get("recipients", 0),
                content={lang: sms_texts.render(notice, None, lang) for lang in LANGUAGES},
            )
        )
    archived.sort(key=lambda a: a.published_at)
    if format != "csv":
        return Response(archived)
    header = ["outage_id", "notice", "event", "kind", "published_at", "approvers", "channels", "recipients",
              "content_zh_CN", "content_en"]  # fmt: skip
    rows = [[a.outage_id, a.notice, a.event, a.kind, a.published_at.isoformat(), "; ".join(a.approvers),
             "; ".join(f"{k} {v}" for k, v in a.channels.items()), a.recipients, a.content["zh-CN"], a.content["en"]]
            for a in archived]  # fmt: skip
    return _csv(header, rows, f"archive-{caller.region}")


@get("/dispatch/compliance", include_in_schema=False)
async def compliance_page(
    caller: NamedDependency[ApiKey],
    outages: NamedDependency[OutageService],
    redis: NamedDependency[Redis],
) -> Template:
    report = await build_report(outages, caller, redis, None, None)
    zone = outages.settings.zone
    faults = [r for r in report.notices if r.fault_delay_minutes is not None]
    return Template(
        template_name="web/compliance.html",
        context={
            "r": report,
            "faults": faults,
            "max_delay": max([25.0, *(r.fault_delay_minutes or 0 for r in faults)]),
            "local": lambda moment: moment.astimezone(zone).strftime("%m-%d %H:%M"),
        },
    )
