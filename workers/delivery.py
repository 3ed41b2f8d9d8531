"""arq jobs of the delivery engine, for every channel: send a batch and chain its continuation,
release batches held for quiet hours, resume stalled fan-outs; and the phone menu's SMS."""

from datetime import timedelta
from typing import Any

import structlog
from arq import Retry

from schemas.clock import Clock
from schemas.deliveries import delivery_counts
from schemas.notices import ORIGINAL_NOTICE, notice_of
from services.delivery import BatchOutcome, Fanout, Sender, after_held_original
from services.jobs import enqueue_batch, next_part, part_number
from store.fanouts import FanoutWatch
from store.held import HeldBatch, HeldBatches
from store.ledger import DeliveryLedger
from store.outages import OutageStore

log = structlog.get_logger("workers.delivery")


# A change's batch looks this many times for its outage notice (with a retry base of 2 s, about
# 25 minutes) before leaving the rest to the stalled-fan-out sweep, so a notice that cannot go
# out (a provider down for hours) does not keep a chain of jobs alive behind it. The count is the
# continuation's part number, which also counts parts of a batch that ran out of time; each of
# those is half a JOB_TIMEOUT of sending, so they matter only under a very tight SMS_RATE, and
# then the sweep still finishes the change.
WAITING_LOOKS = 30

# A change waiting for its outage notice looks again no sooner than this, even with no retry
# pause configured: looking every few milliseconds only loads Redis and slows that very notice.
SHORTEST_WAIT = timedelta(seconds=1)


def backoff(retry_base: float, job_try: int, hint: timedelta) -> timedelta:
    # The exponent is capped: the 60 s ceiling is reached long before, and a chain of
    # continuations can count past the point where 2**n fits in a float.
    exponential = timedelta(seconds=min(60.0, retry_base * 2 ** min(job_try - 1, 16)))
    return max(hint, exponential)


async def send_batch(
    ctx: dict[str, Any], channel: str, outage_id: str, notice_id: str, accounts: list[str]
) -> int:
    sender: Sender = ctx["senders"][channel]
    # Each run of the job claims under its own id, so a later run recognises a dead run's claims.
    run_id = f"{ctx['job_id']}#{ctx['job_try']}"
    outcome = await sender.send_batch(outage_id, notice_id, accounts, run_id)
    if outcome.retry_after is not None:
        defer = backoff(sender.spec.tuning.retry_base, ctx["job_try"], outcome.retry_after)
        log.info("batch retried", channel=channel, outage_id=outage_id, notice_id=notice_id, job_id=ctx["job_id"],
                 recipients=len(accounts), attempt=ctx["job_try"], defer_s=defer.total_seconds())  # fmt: skip
        raise Retry(defer=defer)
    if outcome.remaining:
        return await _continue(ctx, sender, outage_id, notice_id, accounts, outcome)
    log.info("batch sent", channel=channel, outage_id=outage_id, notice_id=notice_id, job_id=ctx["job_id"],
             recipients=len(accounts), attempt=ctx["job_try"])  # fmt: skip
    return len(accounts)


async def _continue(
    ctx: dict[str, Any],
    sender: Sender,
    outage_id: str,
    notice_id: str,
    accounts: list[str],
    outcome: BatchOutcome,
) -> int:
    """The accounts a run did not try go on in the batch's next part (or are held, or left to the
    stalled-fan-out sweep); how many this run settled."""
    this_part: str = ctx["job_id"]
    channel = sender.spec.name
    rest = HeldBatch(channel, outage_id, notice_id, outcome.remaining)
    held_behind = await after_held_original(sender.held, channel, outage_id) if outcome.waiting else None
    if held_behind is not None:
        # The outage notice went into quiet hours after this change's publication looked.
        await sender.held.hold(next_part(this_part), rest, held_behind)
    elif outcome.waiting and part_number(this_part) >= WAITING_LOOKS:
        # Still queued, and counted so: the stalled-fan-out sweep resumes this change once its
        # outage notice has gone out (it resumes that notice too if its batches gave up).
        log.warning("change left waiting for its outage notice", channel=channel, outage_id=outage_id,
                    notice_id=notice_id, job_id=ctx["job_id"], waiting=len(outcome.remaining))  # fmt: skip
        return len(accounts) - len(outcome.remaining)
    else:
        # Waiting for the outage notice: look again after a growing pause (capped at a minute),
        # so a change published during a long fan-out costs a few jobs, not a job a second.
        pause = (
            backoff(sender.spec.tuning.retry_base, part_number(this_part), SHORTEST_WAIT)
            if outcome.waiting
            else None
        )
        await enqueue_batch(ctx["redis"], ctx["queue_name"], next_part(this_part), rest, pause)
    log.info("batch continues", channel=channel, outage_id=outage_id, notice_id=notice_id, job_id=ctx["job_id"],
             recipients=len(accounts) - len(outcome.remaining), attempt=ctx["job_try"],
             remaining=len(outcome.remaining), waiting=outcome.waiting, held=held_behind is not None,
             next_job=next_part(this_part))  # fmt: skip
    return len(accounts) - len(outcome.remaining)


async def release_held(ctx: dict[str, Any]) -> int:
    held = HeldBatches(ctx["redis"])
    clock: Clock = ctx["clock"]
    due = await held.due_batches(clock())
    for batch_id, batch in due:
        await enqueue_batch(ctx["redis"], ctx["queue_name"], batch_id, batch)
        await held.unhold(batch_id, batch)
    return len(due)


async def send_message(
    ctx: dict[str, Any], phone: str, body: str, language: str, topic: str, request: str, channel: str = "sms"
) -> str:
    """One message outside a fan-out (services.jobs.enqueue_message), once per topic and request."""
    sender: Sender = ctx["senders"][channel]
    outcome = await sender.send_one(phone, body, language, topic, request, ctx["job_id"])
    if outcome.retry_after is not None:
        raise Retry(defer=backoff(sender.spec.tuning.retry_base, ctx["job_try"], outcome.retry_after))
    return outcome.status


# A fan-out is checked this often; no progress between two checks means its batches stopped.
STALL_CHECK = timedelta(minutes=5)


async def sweep_stalled_fanouts(ctx: dict[str, Any]) -> int:
    """Resumes fan-outs whose batch jobs gave up (e.g. a provider outage longer than their retries)."""
    clock: Clock = ctx["clock"]
    fanouts: dict[str, Fanout] = ctx["fanouts"]
    watch = FanoutWatch(ctx["redis"])
    now = clock()
    resumed = 0
    for channel, outage_id, notice_id in await watch.due(checked_before=now - STALL_CHECK):
        fanout = fanouts.get(channel)
        if fanout is None:
            # A channel no longer registered: nothing here can send on it.
            await watch.finished(channel, outage_id, notice_id)
            continue
        counts = delivery_counts(await fanout.ledger.counts(outage_id, notice_id))
        waiting = counts.queued + counts.sending
        if waiting == 0 and counts.held == 0:
            await watch.finished(channel, outage_id, notice_id)
            continue
        previous = await watch.checked(channel, outage_id, notice_id, now, waiting)
        if notice_id != ORIGINAL_NOTICE and await _original_unsettled(fanout.ledger, outage_id):
            # A change waits for its outage notice; that fan-out is watched (and resumed) itself.
            continue
        if waiting and previous is not None and waiting >= previous:
            notice = notice_of(await OutageStore(ctx["redis"]).get(outage_id), notice_id)
            log.warning("fan-out stalled, resuming", channel=channel, outage_id=outage_id,
                        notice_id=notice_id, waiting=waiting)  # fmt: skip
            await fanout.publish(notice, attempt=int(now.timestamp()))
            resumed += 1
    return resumed


async def _original_unsettled(ledger: DeliveryLedger, outage_id: str) -> bool:
    counts = delivery_counts(await ledger.counts(outage_id, ORIGINAL_NOTICE))
    return counts.queued + counts.sending + counts.held > 0
