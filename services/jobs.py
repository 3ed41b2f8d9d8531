"""The queue's jobs as the services enqueue them: names, ids, arguments (workers/ runs them)."""

from datetime import datetime, timedelta

from arq.connections import ArqRedis

from store.held import HeldBatch

PUBLISH_JOB = "publish_notice"
SEND_MESSAGE_JOB = "send_message"
# The ledger's "outage" of messages the phone menu sends on a caller's request.
IVR_REQUESTS = "ivr"


def publish_job_id(outage_id: str, notice_id: str) -> str:
    return f"publish:{outage_id}:{notice_id}"


async def enqueue_publish(queue: ArqRedis, queue_name: str, outage_id: str, notice_id: str) -> None:
    # A fixed job id: arq drops the enqueue while the same notice's job is queued or running.
    await queue.enqueue_job(
        PUBLISH_JOB,
        outage_id,
        notice_id,
        _job_id=publish_job_id(outage_id, notice_id),
        _queue_name=queue_name,
    )


async def enqueue_message(
    queue: ArqRedis,
    queue_name: str,
    phone: str,
    body: str,
    language: str,
    topic: str,
    request: str,
    *,
    channel: str = "sms",
    defer_until: datetime | None = None,
) -> None:
    """One message outside a notice's fan-out (the phone menu's "send me this", a reporter's
    acknowledgement, a restoration check, a survey, an area subscriber's notice): once per
    `topic` and `request` (the job id and the ledger entry say so), on the delivery engine's path
    (opt-outs, rate cap, ledger) of `channel`; `body` is that channel's message form."""
    await queue.enqueue_job(
        SEND_MESSAGE_JOB,
        phone,
        body,
        language,
        topic,
        request,
        channel,
        _job_id=f"{topic}-{channel}:{request}",
        _queue_name=queue_name,
        _defer_until=defer_until,
    )


SEND_BATCH_JOB = "send_batch"


def batch_id(channel: str, outage_id: str, notice_id: str, index: int, attempt: int = 0) -> str:
    """A batch's id, also its job's: `attempt` > 0 names the batches of a resumed fan-out anew.

    Its parts (`/2`, `/3` ...) are the continuations of one batch: see next_part.
    """
    return f"{channel}:{outage_id}:{notice_id}:{index}" + (f":r{attempt}" if attempt else "")


def next_part(batch: str) -> str:
    """The id of the job that continues `batch`: X, X/2, X/3 ... (the same every time, so a
    re-run of a killed job enqueues its continuation once)."""
    base, _, _ = batch.partition("/")
    return f"{base}/{part_number(batch) + 1}"


def part_number(batch: str) -> int:
    """1 for a batch's first job, 2 for its first continuation, and so on."""
    _, _, part = batch.partition("/")
    return int(part or 1)


async def enqueue_batch(
    queue: ArqRedis, queue_name: str, batch: str, held: HeldBatch, defer: timedelta | None = None
) -> bool:
    """The job that sends batch `batch` (its id) of `held`'s channel; False if it is already queued."""
    job = await queue.enqueue_job(
        SEND_BATCH_JOB,
        held.channel,
        held.outage_id,
        held.notice_id,
        held.accounts,
        _job_id=batch,
        _queue_name=queue_name,
        _defer_by=defer,
    )
    return job is not None
