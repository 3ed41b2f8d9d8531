"""The partner webhook delivery job: one notice to one webhook, retried on the service's schedule."""

from datetime import timedelta
from typing import Any

from arq import Retry

from services.webhooks import WebhookService


async def deliver_webhook(ctx: dict[str, Any], webhook_id: str, outage_id: str, notice_id: str) -> str:
    webhooks: WebhookService = ctx["webhooks"]
    outcome = await webhooks.deliver(webhook_id, outage_id, notice_id, ctx["job_try"])
    if outcome.retry_after is not None:
        raise Retry(defer=timedelta(seconds=outcome.retry_after))
    return "delivered" if outcome.delivered else f"gave up: {outcome.gave_up}"
