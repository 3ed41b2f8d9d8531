"""Twilio Voice webhooks of the 95598 menu: signed requests in, the dialogue's TwiML out."""

import time
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from api.metrics import ProcessMetrics
from api.twilio_signature import WEBHOOK_MAX_BODY, verified_params
from schemas.settings import Settings
from services.ivr import IvrService


class WebhookToken(str):
    """The secret Twilio signs webhooks with (a per-process one when Twilio is not configured)."""


def _twiml(twiml: str, started: float, timing: ProcessMetrics) -> Response[str]:
    timing.ivr_seconds.observe(time.perf_counter() - started)
    return Response(twiml, media_type="application/xml")


@post("/ivr/voice", include_in_schema=False, status_code=200, request_max_body_size=WEBHOOK_MAX_BODY)
async def incoming_call(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    ivr: NamedDependency[IvrService],
    webhook_token: NamedDependency[WebhookToken],
    process_metrics: NamedDependency[ProcessMetrics],
) -> Response[str]:
    params = await verified_params(request, settings.public_base_url, webhook_token)
    started = time.perf_counter()
    return _twiml(await ivr.incoming(request.query_params, params), started, process_metrics)


@post("/ivr/menu", include_in_schema=False, status_code=200, request_max_body_size=WEBHOOK_MAX_BODY)
async def menu_step(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    ivr: NamedDependency[IvrService],
    webhook_token: NamedDependency[WebhookToken],
    process_metrics: NamedDependency[ProcessMetrics],
) -> Response[str]:
    params = await verified_params(request, settings.public_base_url, webhook_token)
    started = time.perf_counter()
    return _twiml(await ivr.step(request.query_params, params), started, process_metrics)
