"""The queue's jobs as the services enqueue them: names, ids, arguments (workers/ runs them)."""

from arq.connections import ArqRedis

PUBLISH_JOB = "publish_notice"
SEND_IVR_SMS_JOB = "send_ivr_sms"


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


async def enqueue_ivr_sms(
    queue: ArqRedis, queue_name: str, phone: str, body: str, language: str, request: str
) -> None:
    """A caller's "send me this by SMS": once per call, menu and account (the job id says so)."""
    await queue.enqueue_job(
        SEND_IVR_SMS_JOB, phone, body, language, request, _job_id=f"ivr-sms:{request}", _queue_name=queue_name
    )
