"""Twilio Voice webhooks of the calls the voice channel places (signed like every Twilio webhook)."""

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from api.twilio_hooks import signed_form
from schemas.settings import Settings
from services.voice import VoiceService


def _query(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in request.query_params.items()}


@post("/twilio/voice/notice", include_in_schema=False, status_code=200)
async def voice_notice(
    request: Request[Any, Any, Any], settings: NamedDependency[Settings], voice: NamedDependency[VoiceService]
) -> Response[str]:
    await signed_form(request, settings)
    return Response(await voice.notice_twiml(_query(request)), media_type="application/xml")


@post("/twilio/voice/confirm", include_in_schema=False, status_code=200)
async def voice_confirm(
    request: Request[Any, Any, Any], settings: NamedDependency[Settings], voice: NamedDependency[VoiceService]
) -> Response[str]:
    params = await signed_form(request, settings)
    return Response(
        await voice.confirm(_query(request), params.get("Digits", ""), params.get("To", "")),
        media_type="application/xml",
    )


@post("/twilio/voice/status", include_in_schema=False, status_code=204)
async def voice_status(
    request: Request[Any, Any, Any], settings: NamedDependency[Settings], voice: NamedDependency[VoiceService]
) -> None:
    params = await signed_form(request, settings)
    await voice.call_ended(_query(request), params.get("CallStatus", ""))
