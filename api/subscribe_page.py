"""The public "add a contact" page (/subscribe): the same two steps as POST /api/v1/subscriptions
and /verify, for a browser; the code goes to the account's registered phone."""

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Template

from api.web import Query, page_context
from schemas.clock import Clock
from schemas.contacts import SubscriptionRequest, Verification
from schemas.errors import ServiceError
from schemas.settings import Settings
from services.registration import RegistrationService

FIELDS = ("account", "address", "channel", "code")


def _page(
    request: Request[Any, Any, Any], settings: Settings, clock: Clock, lang: str | None, **values: Any
) -> dict[str, Any]:
    context = page_context(request, settings, clock(), lang)
    context.update(form=dict.fromkeys(FIELDS, ""), sent=None, contact=None, token="", problem="")
    context.update(values)
    return context


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    raw = await request.form()
    return {name: str(raw.get(name, "")).strip() for name in FIELDS}


@get("/subscribe", include_in_schema=False)
async def subscribe_form(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    lang: Query = None,
) -> Template:
    return Template(template_name="web/subscribe.html", context=_page(request, settings, clock, lang))


@post("/subscribe", include_in_schema=False, status_code=202)
async def subscribe_sent(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    registration: NamedDependency[RegistrationService],
    lang: Query = None,
) -> Template:
    form = await _form(request)
    language = "en" if lang == "en" else "zh-CN"
    wanted = {
        "account": form["account"],
        "address": form["address"],
        "channel": form["channel"] or "sms",
        "language": language,
    }
    try:
        sent = await registration.request(msgspec.convert(wanted, SubscriptionRequest))
    except msgspec.ValidationError as exc:
        return Template(template_name="web/subscribe.html", status_code=400,
                        context=_page(request, settings, clock, lang, form=form, problem=str(exc)))  # fmt: skip
    except ServiceError as exc:
        return Template(template_name="web/subscribe.html", status_code=exc.status_code,
                        context=_page(request, settings, clock, lang, form=form, problem=exc.detail))  # fmt: skip
    context = _page(request, settings, clock, lang, form=form, sent=sent)
    return Template(template_name="web/subscribe.html", context=context, status_code=202)


@post("/subscribe/verify", include_in_schema=False, status_code=201)
async def subscribe_verified(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    registration: NamedDependency[RegistrationService],
    lang: Query = None,
) -> Template:
    form = await _form(request)
    try:
        verification = msgspec.convert({k: form[k] for k in ("account", "address", "code")}, Verification)
        verified = await registration.verify(verification)
    except msgspec.ValidationError as exc:
        return Template(template_name="web/subscribe.html", status_code=400,
                        context=_page(request, settings, clock, lang, form=form, problem=str(exc)))  # fmt: skip
    except ServiceError as exc:
        return Template(template_name="web/subscribe.html", status_code=exc.status_code,
                        context=_page(request, settings, clock, lang, form=form, problem=exc.detail))  # fmt: skip
    context = _page(request, settings, clock, lang, contact=verified.contact, token=verified.token)
    return Template(template_name="web/subscribe.html", context=context, status_code=201)
