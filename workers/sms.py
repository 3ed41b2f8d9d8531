"""arq jobs of the SMS channel: send a batch, release batches held for quiet hours."""

from datetime import timedelta
from typing import Any

import structlog
from arq import Retry

from publishers.sms import RetryBatch, SmsSender, enqueue_batch
from publishers.sms_providers.base import MessageRef
from schemas.clock import Clock
from schemas.settings import Settings
from store.sms import SmsLedger

log = structlog.get_logger("workers.sms")


def backoff(settings: Settings, job_try: int, hint: timedelta) -> timedelta:
    exponential = timedelta(seconds=min(60.0, settings.sms_retry_base * 2 ** (job_try - 1)))
    return max(hint, exponential)


async def send_sms_batch(ctx: dict[str, Any], outage_id: str, notice_id: str, accounts: list[str]) -> int:
    sender: SmsSender = ctx["sms_sender"]
    # Each run of the job claims under its own id, so a later run recognises a dead run's claims.
    run_id = f"{ctx['job_id']}#{ctx['job_try']}"
    try:
        await sender.send_batch(outage_id, notice_id, accounts, run_id)
    except RetryBatch as exc:
        defer = backoff(sender.settings, ctx["job_try"], exc.retry_after)
        log.info("sms batch retried", outage_id=outage_id, notice_id=notice_id, job_id=ctx["job_id"],
                 recipients=len(accounts), attempt=ctx["job_try"], defer_s=defer.total_seconds())  # fmt: skip
        raise Retry(defer=defer) from exc
    log.info("sms batch sent", outage_id=outage_id, notice_id=notice_id, job_id=ctx["job_id"],
             recipients=len(accounts), attempt=ctx["job_try"])  # fmt: skip
    return len(accounts)


async def release_held_sms(ctx: dict[str, Any]) -> int:
    ledger: SmsLedger = ctx["sms_ledger"]
    clock: Clock = ctx["clock"]
    due = await ledger.due_batches(clock())
    for batch_id, batch in due:
        await enqueue_batch(ctx["redis"], ctx["queue_name"], batch_id, batch)
        await ledger.unhold(batch_id, batch)
    return len(due)


async def send_ivr_sms(ctx: dict[str, Any], phone: str, body: str, language: str, call_sid: str) -> str:
    """A caller asked the phone menu for its answer by SMS."""
    sender: SmsSender = ctx["sms_sender"]
    sent = await sender.provider.send(phone, body, MessageRef("ivr", call_sid, "", language))
    return sent.sid
