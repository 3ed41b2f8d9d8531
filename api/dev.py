"""Pages for trying the service without real providers."""

import xml.etree.ElementTree as ET
from typing import Annotated, Any

import httpx
import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.response import Template
from redis.asyncio import Redis
from twilio.request_validator import RequestValidator

from api.ivr import WebhookToken
from schemas.clock import Clock
from schemas.errors import NotFound, Unprocessable
from schemas.settings import Settings
from store.customers import CustomerStore
from store.ivr import IvrIndex
from store.sms import SmsLedger

PAGE_SIZE = 100


@get("/dev/outbox", include_in_schema=False)
async def outbox_page(
    redis: NamedDependency[Redis],
    settings: NamedDependency[Settings],
    page: Annotated[int, QueryParameter(ge=1)] = 1,
) -> Template:
    if settings.uses_twilio:
        raise NotFound("SMS go to Twilio: there is no local outbox", rule="outbox_enabled")
    ledger = SmsLedger(redis)
    total, messages = await ledger.outbox((page - 1) * PAGE_SIZE, PAGE_SIZE)
    statuses = await ledger.statuses([(m.outage_id, m.notice_id, m.account) for m in messages])
    return Template(
        template_name="web/dev_outbox.html",
        context={
            "messages": list(zip(messages, statuses, strict=True)),
            "total": total,
            "keep": settings.outbox_max,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "zone": settings.zone,
        },
    )


class IvrStep(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    to: str = "+8695598"
    from_: str = msgspec.field(name="from", default="")
    digits: str | None = None
    call_sid: str = "DEV"


@get("/dev/ivr", include_in_schema=False)
async def ivr_page(
    redis: NamedDependency[Redis], settings: NamedDependency[Settings], clock: NamedDependency[Clock]
) -> Template:
    caller = ""
    # Offer the number of a demo customer who has an outage to hear, if there is one.
    customers = CustomerStore(redis)
    for n in range(2, 400, 9):
        customer = await customers.get(f"D{n:09d}")
        if customer is not None and await IvrIndex(redis).for_customer(customer, clock(), private=True):
            caller = customer.phone
            break
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
    prefix = f"{settings.public_base_url}/ivr/"
    if not data.url.startswith(prefix):
        raise Unprocessable(f"url: only the IVR webhooks under {prefix}", field="url", rule="ivr_only")
    params = {"From": data.from_, "To": data.to, "CallSid": data.call_sid}
    if data.digits is not None:
        params["Digits"] = data.digits
    signature = RequestValidator(webhook_token).compute_signature(data.url, params)
    transport = httpx.ASGITransport(app=request.app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_base_url) as client:
        response = await client.post(
            data.url.removeprefix(settings.public_base_url),
            data=params,
            headers={"X-Twilio-Signature": signature},
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
