"""Twilio webhooks: delivery receipts and customers' replies. Every request must be signed."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from redis.asyncio import Redis
from twilio.twiml.messaging_response import MessagingResponse

from api.twilio_signature import WEBHOOK_MAX_BODY, verified_params
from schemas.customers import e164
from schemas.errors import NotFound
from schemas.kinds import MARKETING_KINDS, Status
from schemas.outage import Outage
from schemas.settings import Settings
from services.outages import OutageService
from store.customers import CustomerStore
from store.sms import SmsLedger

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD"}
START_WORDS = {"START", "YES", "UNSTOP", "订阅"}
STATUS_WORDS = {"STATUS", "OUTAGE", "停电", "状态", "查询"}
# Twilio's receipt statuses, in our ledger's words.
RECEIPT_STATUS = {
    "accepted": "accepted",
    "queued": "accepted",
    "sending": "accepted",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}


async def _signed_form(request: Request[Any, Any, Any], settings: Settings) -> dict[str, str]:
    if not settings.twilio_auth_token:
        raise NotFound("Twilio is not configured", rule="twilio_configured")
    return await verified_params(request, settings.public_base_url, settings.twilio_auth_token)


@post("/twilio/sms/status", include_in_schema=False, status_code=204, request_max_body_size=WEBHOOK_MAX_BODY)
async def sms_status(
    request: Request[Any, Any, Any], settings: NamedDependency[Settings], redis: NamedDependency[Redis]
) -> None:
    params = await _signed_form(request, settings)
    ledger = SmsLedger(redis)
    found = await ledger.by_sid(params.get("MessageSid", ""))
    status = RECEIPT_STATUS.get(params.get("MessageStatus", ""))
    if found is None or status is None:
        # Not ours or not a status we track: acknowledged so Twilio does not retry it.
        return
    outage_id, notice_id, account = found
    await ledger.advance(outage_id, notice_id, account, status, params.get("ErrorCode", ""))


def _reply(text: str | None) -> Response[str]:
    twiml = MessagingResponse()
    if text:
        twiml.message(text)
    return Response(str(twiml), media_type="application/xml")


@post("/twilio/sms/inbound", include_in_schema=False, status_code=200, request_max_body_size=WEBHOOK_MAX_BODY)
async def sms_inbound(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    redis: NamedDependency[Redis],
    outages: NamedDependency[OutageService],
) -> Response[str]:
    params = await _signed_form(request, settings)
    try:
        phone = e164(params.get("From", ""))
    except ValueError:
        return _reply(None)
    word = params.get("Body", "").strip().upper()
    customers = CustomerStore(redis)
    accounts = await customers.accounts_of_phone(phone)
    english = bool(accounts) and all(
        c is not None and c.language == "en" for c in await customers.many(accounts)
    )
    hotline = settings.hotline
    if word in STOP_WORDS:
        await customers.set_opted_out(phone, True)
        return _reply(
            f"You will get no more outage SMS. Reply START to resume. Call {hotline} for help."
            if english
            else f"您已退订停电通知短信。回复START可恢复接收。咨询请拨{hotline}。"
        )
    if word in START_WORDS:
        await customers.set_opted_out(phone, False)
        return _reply("Outage SMS resumed." if english else "您已恢复接收停电通知短信。")
    if word in STATUS_WORDS:
        return _reply(await _status_text(outages, redis, accounts, english))
    # HELP, and anything not understood, gets the help text.
    return _reply(
        f"State Grid outage notices. Reply STATUS for outages at your address, STOP to unsubscribe. Call {hotline}."
        if english
        else f"国家电网停电通知。回复“停电”查询您地址的停电信息，回复“退订”停止接收。咨询请拨{hotline}。"
    )


async def _status_text(outages: OutageService, redis: Redis, accounts: list[str], english: bool) -> str:
    now = outages.clock()
    ledger = SmsLedger(redis)
    found: dict[str, Outage] = {}
    for account in accounts:
        for outage_id in await ledger.outages_of_account(account, after=now):
            if outage_id not in found:
                found[outage_id] = await outages.store.get(outage_id)
    current = [o for o in found.values() if o.status is Status.PUBLISHED]
    hotline = outages.settings.hotline
    if not accounts:
        return (
            f"This number is not registered with an account. Call {hotline}."
            if english
            else f"该号码未登记用电户号，请拨{hotline}查询。"
        )
    if not current:
        return (
            f"No planned or current outage is known for your address. Call {hotline} to report one."
            if english
            else f"您的地址目前没有已发布的停电信息。如需报修请拨{hotline}。"
        )
    lines = [_describe(o, english, outages.settings.zone) for o in sorted(current, key=lambda o: o.starts_at)]
    return " ".join(lines[:3]) + (f" Call {hotline}." if english else f" 咨询请拨{hotline}。")


def _describe(outage: Outage, english: bool, zone: Any) -> str:
    start = outage.starts_at.astimezone(zone)
    end = outage.ends_at.astimezone(zone) if outage.ends_at else None
    # Marketing stoppages are only ever listed here for the number registered on that account.
    area = outage.area_description if outage.kind not in MARKETING_KINDS else ""
    if english:
        until = f" until {end:%d %b %H:%M}" if end else ""
        return f"{area} {start:%d %b %H:%M}{until}: {outage.reason}.".strip()
    until = f"至{end.month}月{end.day}日{end:%H:%M}" if end else ""
    return f"{area}{start.month}月{start.day}日{start:%H:%M}{until}停电，原因：{outage.reason}。"
