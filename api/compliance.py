"""For dispatch centres: the compliance report (JSON, CSV, a page with charts) and the archive."""

import csv
import io
from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Template

from api.query_times import RFC3339, query_time
from schemas.keys import ApiKey
from schemas.workflow import readable_region
from services.reports import ReportService

DEFAULT_PERIOD = timedelta(days=30)
PeriodStart = Annotated[str | None, QueryParameter(name="from", description=RFC3339, max_length=64)]
PeriodEnd = Annotated[str | None, QueryParameter(name="to", description=RFC3339, max_length=64)]
Region = Annotated[str | None, QueryParameter(description="defaults to the key's region")]
Format = Annotated[str | None, QueryParameter(description="json (default) or csv")]


def _period(reports: ReportService, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """The period asked for (the last 30 days by default), in the deployment's zone as answers
    give every time, whatever offset the query used."""
    now = reports.outages.clock()
    period_end = (query_time(end, "to") or now).astimezone(now.tzinfo)
    period_start = query_time(start, "from")
    return (period_start.astimezone(now.tzinfo) if period_start else period_end - DEFAULT_PERIOD), period_end


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


@get(
    "/api/v1/compliance",
    tags=["compliance"],
    security=[{"bearer": []}],
    summary="Which notices met their rule, how late the rest were, and how delivery went",
    description="Period defaults to the last 30 days. format=csv gives one row per published notice.",
)
async def compliance(
    caller: NamedDependency[ApiKey],
    reports: NamedDependency[ReportService],
    region: Region = None,
    start: PeriodStart = None,
    end: PeriodEnd = None,
    format: Format = None,
) -> Response[Any]:
    readable_region(caller, region)
    report = await reports.compliance(caller, *_period(reports, start, end))
    if format != "csv":
        return Response(report)
    header = ["outage_id", "notice", "event", "kind", "title", "published_at", "starts_at", "lead_hours",
              "required_lead_hours", "fault_delay_minutes", "met", "minutes_late", "recipients", "reachable",
              "handed_over", "delivered", "delivery_rate", "below_threshold"]  # fmt: skip
    rows = [[getattr(r, h) if not isinstance(getattr(r, h), datetime) else getattr(r, h).isoformat() for h in header]
            for r in report.notices]  # fmt: skip
    return _csv(header, rows, f"compliance-{caller.region}")


@get(
    "/api/v1/archive",
    tags=["compliance"],
    security=[{"bearer": []}],
    summary="Every published notice: when, who approved it, which channels took it, to how many, what it said",
)
async def archive(
    caller: NamedDependency[ApiKey],
    reports: NamedDependency[ReportService],
    start: PeriodStart = None,
    end: PeriodEnd = None,
    format: Format = None,
) -> Response[Any]:
    archived = await reports.archive(caller, *_period(reports, start, end))
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
    caller: NamedDependency[ApiKey], reports: NamedDependency[ReportService]
) -> Template:
    report = await reports.compliance(caller, *_period(reports, None, None))
    zone = reports.settings.zone
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
