"""Pages for trying the service without real providers."""

import xml.etree.ElementTree as ET
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.response import Template
from twilio.request_validator import RequestValidator

from api.ivr import WebhookToken
from schemas.errors import NotFound, Unprocessable
from schemas.settings import Settings
from services.demo_customers import demo_account
from services.dev import DevService

PAGE_SIZE = 100


@get("/dev/outbox", include_in_schema=False)
async def outbox_page(
    dev: NamedDependency[DevService],
    settings: NamedDependency[Settings],
    page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
) -> Template:
    if settings.uses_twilio:
        raise NotFound("SMS go to Twilio: there is no local outbox", rule="outbox_enabled")
    outbox = await dev.outbox((page - 1) * PAGE_SIZE, PAGE_SIZE)
    total, held, release = outbox.total, outbox.held, outbox.release
    return Template(
        template_name="web/dev_outbox.html",
        context={
            "messages": outbox.messages,
            "total": total,
            "keep": settings.outbox_max,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "zone": settings.zone,
            "held": held,
            "release": release,
            "quiet": f"{settings.quiet_start:%H:%M}–{settings.quiet_end:%H:%M}",
        },
    )


class IvrStep(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(max_length=2000)]
    to: Annotated[str, msgspec.Meta(max_length=32)] = "+8695598"
    from_: Annotated[str, msgspec.Meta(max_length=32)] = msgspec.field(name="from", default="")
    # What a phone keypad can send.
    digits: Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[0-9*#]*$")] | None = None
    call_sid: Annotated[str, msgspec.Meta(max_length=64)] = "DEV"


WEBHOOKS = ("/ivr/voice", "/ivr/menu")


def _webhook_path(url: str, base: str) -> str:
    """The path and query of one of the IVR webhooks under `base`, or 422 saying what is wrong."""
    refusal = Unprocessable(
        f"url: only {base}/ivr/voice or {base}/ivr/menu?... (what the menu's own answers give)",
        field="url",
        rule="ivr_only",
    )
    try:
        parts, own = urlsplit(url), urlsplit(base)
    except ValueError:
        raise refusal from None
    printable = all(" " < ch < "\x7f" for ch in url)
    if (parts.scheme, parts.netloc) != (own.scheme, own.netloc) or parts.fragment or not printable:
        raise refusal
    path = parts.path.removeprefix(own.path.rstrip("/"))
    if path not in WEBHOOKS:
        raise refusal
    return path + (f"?{parts.query}" if parts.query else "")


@get("/dev/ivr", include_in_schema=False)
async def ivr_page(dev: NamedDependency[DevService], settings: NamedDependency[Settings]) -> Template:
    # Offer the number of a demo customer who has an outage to hear, if there is one.
    caller = await dev.caller_with_an_outage([demo_account("310115", n) for n in range(2, 400, 9)])
    return Template(
        template_name="web/dev_ivr.html",
        context={"caller": caller, "voice_url": f"{settings.public_base_url}/ivr/voice"},
    )


@post("/dev/ivr/step", include_in_schema=False, status_code=200)
async def ivr_step(
    request: Request[Any, Any, Any],
    data: JSONBody[IvrStep],
    settings: NamedDependency[Settings],
    webhook_token: NamedDependency[WebhookToken],
) -> dict[str, Any]:
    """Posts to the IVR webhook as Twilio would (signed) and returns its TwiML as JSON.

    Registered only with DEV_PAGES and no real Twilio token (api.app.dev_pages): a signer next to
    a real token would let anyone call the menu as any number.
    """
    target = _webhook_path(data.url, settings.public_base_url)
    params = {"From": data.from_, "To": data.to, "CallSid": data.call_sid}
    if data.digits is not None:
        params["Digits"] = data.digits
    signature = RequestValidator(webhook_token).compute_signature(data.url, params)
    transport = httpx.ASGITransport(app=request.app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_base_url) as client:
        response = await client.post(target, data=params, headers={"X-Twilio-Signature": signature})
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith(
        ("application/xml", "text/xml")
    ):
        raise Unprocessable(
            f"url: the phone menu answered {response.status_code}, not a menu step: {response.text[:200]}",
            field="url",
            rule="ivr_step",
        )
    return _twiml_as_json(response.text)


def _twiml_as_json(twiml: str) -> dict[str, Any]:
    turn: dict[str, Any] = {"says": [], "gather": None, "redirect": None, "dial": None, "hangup": False}
    for verb in ET.fromstring(twiml):
        if verb.tag == "Say":
            turn["says"].append(verb.text or "")
        elif verb.tag == "Gather":
            turn["gather"] = {**verb.attrib, "says": [s.text or "" for s in verb]}
        elif verb.tag == "Redirect":
            turn["redirect"] = verb.text
        elif verb.tag == "Dial":
            turn["dial"] = verb.text
        elif verb.tag == "Hangup":
            turn["hangup"] = True
    return turn
