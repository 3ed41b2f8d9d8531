"""The public "add a contact" page (/subscribe): the same two steps as POST /api/v1/subscriptions
and /verify, for a browser; the code goes to the account's registered phone."""

from collections.abc import Awaitable, Callable
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


async def _step(
    request: Request[Any, Any, Any],
    settings: Settings,
    clock: Clock,
    lang: str | None,
    form: dict[str, str],
    step: Callable[[], Awaitable[dict[str, Any]]],
    status_code: int,
) -> Template:
    """One step of the page: its result shown, or the form again naming what was wrong."""
    try:
        shown = await step()
    except msgspec.ValidationError as exc:
        problem, status_code = str(exc), 400
        shown = {"form": form, "problem": problem}
    except ServiceError as exc:
        problem, status_code = exc.detail, exc.status_code
        shown = {"form": form, "problem": problem}
    return Template(
        template_name="web/subscribe.html",
        context=_page(request, settings, clock, lang, **shown),
        status_code=status_code,
    )


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

    async def ask() -> dict[str, Any]:
        wanted = {"account": form["account"], "address": form["address"], "channel": form["channel"] or "sms",
                  "language": language}  # fmt: skip
        return {
            "form": form,
            "sent": await registration.request(msgspec.convert(wanted, SubscriptionRequest)),
        }

    return await _step(request, settings, clock, lang, form, ask, 202)


@post("/subscribe/verify", include_in_schema=False, status_code=201)
async def subscribe_verified(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    registration: NamedDependency[RegistrationService],
    lang: Query = None,
) -> Template:
    form = await _form(request)

    async def verify() -> dict[str, Any]:
        verification = msgspec.convert({k: form[k] for k in ("account", "address", "code")}, Verification)
        verified = await registration.verify(verification)
        return {"contact": verified.contact, "token": verified.token}

    return await _step(request, settings, clock, lang, form, verify, 201)
