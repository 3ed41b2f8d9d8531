"""Builds the arq Worker with its dependencies in ctx."""

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from arq import cron
from arq.connections import ArqRedis
from arq.typing import WorkerCoroutine
from arq.worker import Worker, func

from publishers.ivr import IvrPublisher
from publishers.registry import PublisherRegistry
from publishers.sms import SEND_BATCH_JOB, SmsPublisher, SmsSender
from publishers.sms_providers.base import SmsProvider
from publishers.sms_providers.outbox import OutboxProvider
from publishers.sms_providers.twilio import TwilioProvider
from publishers.sms_text import SmsTexts
from publishers.web import WebPublisher
from schemas.clock import Clock
from schemas.settings import Settings
from services.jobs import PUBLISH_JOB, SEND_IVR_SMS_JOB
from store.connection import connect
from store.dispatch import DispatchLedger
from store.jobs import job_lease
from store.outages import OutageStore
from store.outbox import Outbox
from store.sms import SmsLedger
from workers.publish import publish_notice, redispatch_lost
from workers.sms import release_held_sms, send_ivr_sms, send_sms_batch, sweep_stalled_fanouts
from workers.timeline import fire_due

RegistryFactory = Callable[[ArqRedis], PublisherRegistry]


def sms_provider(settings: Settings, redis: ArqRedis, clock: Clock) -> SmsProvider:
    if settings.uses_twilio:
        assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
        return TwilioProvider(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_from,
            status_callback=f"{settings.public_base_url}/twilio/sms/status",
            api_base=settings.twilio_api_base,
            # A send must end well inside the job's time, or arq fails the whole batch.
            timeout=max(1.0, min(30.0, settings.job_timeout.total_seconds() / 4)),
        )
    return OutboxProvider(Outbox(redis), clock, settings.outbox_max)


def channel_publishers(settings: Settings, clock: Clock) -> RegistryFactory:
    """Every customer channel the publish job hands a notice to."""

    def build(redis: ArqRedis) -> PublisherRegistry:
        return PublisherRegistry(
            [WebPublisher(redis), IvrPublisher(redis), SmsPublisher(redis, settings, clock)]
        )

    return build


def leased(job: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
    """`job` holding a short, renewed lease while it runs (store.jobs): if its worker dies it is
    run again after JOB_LEASE, not after JOB_TIMEOUT + 10 s."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any) -> Any:
        seconds = ctx["settings"].job_lease.total_seconds()
        async with job_lease(ctx["redis"], ctx["job_id"], seconds):
            return await job(ctx, *args)

    return cast(WorkerCoroutine, run)


def build_worker(
    settings: Settings,
    clock: Clock,
    *,
    publishers: RegistryFactory | None = None,
    redis: ArqRedis | None = None,
    burst: bool = False,
    monotonic: Callable[[], float] = time.monotonic,
) -> Worker:
    """A worker on `redis` if given (tests), else on settings.redis_url, connected at startup.

    `monotonic` measures how long a batch job has run (tests pass one that leaps)."""
    registry_of = publishers or channel_publishers(settings, clock)

    async def on_startup(ctx: dict[str, Any]) -> None:
        pool = ctx["redis"]
        ctx["outages"] = OutageStore(pool)
        ctx["dispatch"] = DispatchLedger(pool)
        ctx["publishers"] = registry_of(pool)
        ctx["sms_ledger"] = SmsLedger(pool)
        provider = sms_provider(settings, pool, clock)
        texts = SmsTexts(settings.zone, settings.hotline, settings.sms_signature)
        ctx["sms_sender"] = SmsSender(pool, settings, provider, texts, clock, monotonic)
        ctx["sms_publisher"] = SmsPublisher(pool, settings, clock)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        await ctx["sms_sender"].provider.close()

    if redis is None:
        if settings.redis_url is None:
            raise ValueError("the worker needs REDIS_URL (or a Redis client)")
        redis = connect(settings.redis_url, settings.redis_timeout)
    return Worker(
        functions=[
            func(leased(publish_notice), name=PUBLISH_JOB, keep_result=60, max_tries=20),
            # One per call and menu: a repeated key press does not send twice.
            func(leased(send_ivr_sms), name=SEND_IVR_SMS_JOB, keep_result=3600, max_tries=5),
            func(
                leased(send_sms_batch),
                name=SEND_BATCH_JOB,
                keep_result=3600,
                max_tries=12,
            ),
        ],
        cron_jobs=[
            cron(redispatch_lost, second={0}, run_at_startup=True, unique=True),
            cron(release_held_sms, second={30}, run_at_startup=True, unique=True),
            cron(fire_due, second={15}, run_at_startup=True, unique=True),
            cron(
                sweep_stalled_fanouts,
                minute=set(range(0, 60, 5)),
                second={45},
                run_at_startup=True,
                unique=True,
            ),
        ],
        queue_name=settings.queue_name,
        job_timeout=settings.job_timeout,
        # /ready looks for this key: a worker that stops writing it is not ready.
        health_check_interval=10,
        redis_pool=redis,
        ctx={"clock": clock, "queue_name": settings.queue_name, "settings": settings},
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        burst=burst,
        poll_delay=0.0 if burst else 0.5,
        handle_signals=not burst,
    )
