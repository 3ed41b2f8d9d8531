"""The public "report a power cut" form: a customer gives an account (or registered phone) and
what they see; the page answers with the outage that explains it or the repair order."""

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Template

from api.web import Query, page_context
from schemas.clock import Clock
from schemas.errors import ServiceError
from schemas.fault_reports import ReportChannel, ReportSubmission, Symptom
from schemas.settings import Settings
from services.fault_reports import FaultReportService

FIELDS = ("account", "phone", "symptom", "description")


def _form_page(
    request: Request[Any, Any, Any], settings: Settings, clock: Clock, lang: str | None, **values: Any
) -> dict[str, Any]:
    context = page_context(request, settings, clock(), lang)
    context.update(
        symptoms=[s.value for s in Symptom], form=dict.fromkeys(FIELDS, ""), receipt=None, problem=""
    )
    context.update(values)
    return context


@get("/report", include_in_schema=False)
async def report_form(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    lang: Query = None,
) -> Template:
    return Template(template_name="web/report.html", context=_form_page(request, settings, clock, lang))


@post("/report", include_in_schema=False, status_code=200)
async def report_sent(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    fault_reports: NamedDependency[FaultReportService],
    lang: Query = None,
) -> Template:
    raw = await request.form()
    form = {name: str(raw.get(name, "")).strip() for name in FIELDS}
    try:
        submission = msgspec.convert({k: v for k, v in form.items() if v}, ReportSubmission)
        receipt = await fault_reports.report(
            submission, ReportChannel.WEB, language="en" if lang == "en" else "zh-CN"
        )
    except msgspec.ValidationError as exc:
        # The page says which field and why, and keeps what was typed.
        context = _form_page(request, settings, clock, lang, form=form, problem=str(exc))
        return Template(template_name="web/report.html", context=context, status_code=400)
    except ServiceError as exc:
        context = _form_page(request, settings, clock, lang, form=form, problem=exc.detail)
        return Template(template_name="web/report.html", context=context, status_code=exc.status_code)
    context = _form_page(request, settings, clock, lang, receipt=receipt)
    return Template(template_name="web/report.html", context=context, status_code=201)
