"""Twilio webhooks: delivery receipts and customers' replies. Every request must be signed."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from twilio.twiml.messaging_response import MessagingResponse

from api.twilio_signature import WEBHOOK_MAX_BODY, verified_params
from schemas.errors import NotFound
from schemas.settings import Settings
from services.replies import ReplyService


async def signed_form(request: Request[Any, Any, Any], settings: Settings) -> dict[str, str]:
    if not settings.twilio_auth_token:
        raise NotFound("Twilio is not configured", rule="twilio_configured")
    return await verified_params(request, settings.public_base_url, settings.twilio_auth_token)


@post("/twilio/sms/status", include_in_schema=False, status_code=204, request_max_body_size=WEBHOOK_MAX_BODY)
async def sms_status(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    replies: NamedDependency[ReplyService],
) -> None:
    params = await signed_form(request, settings)
    # Acknowledged whatever it says, so Twilio does not retry one we do not track.
    await replies.receipt(
        params.get("MessageSid", ""), params.get("MessageStatus", ""), params.get("ErrorCode", "")
    )


@post("/twilio/sms/inbound", include_in_schema=False, status_code=200, request_max_body_size=WEBHOOK_MAX_BODY)
async def sms_inbound(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    replies: NamedDependency[ReplyService],
) -> Response[str]:
    params = await signed_form(request, settings)
    text = await replies.answer(params.get("From", ""), params.get("Body", ""))
    twiml = MessagingResponse()
    if text:
        twiml.message(text)
    return Response(str(twiml), media_type="application/xml")
