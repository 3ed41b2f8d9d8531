"""Builds the arq Worker with its dependencies in ctx."""

import functools
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from signal import Signals
from typing import Any, cast

import structlog
from arq import Retry, cron
from arq.connections import ArqRedis
from arq.typing import WorkerCoroutine
from arq.worker import Worker as ArqWorker
from arq.worker import func
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from publishers.channel import Channel
from publishers.channels import build_channels
from publishers.ivr import IvrPublisher
from publishers.registry import PublisherRegistry
from publishers.web import WebPublisher
from schemas.clock import Clock
from schemas.settings import Settings
from schemas.webhooks import RETRY_PAUSES
from services.area_subscriptions import AreaPublisher, AreaSubscriptionService
from services.delivery import Fanout, Sender
from services.fault_reports import FaultReportService
from services.followups import FollowUpService
from services.jobs import PUBLISH_JOB, SEND_BATCH_JOB, SEND_MESSAGE_JOB
from services.outages import OutageService
from services.voice import REDIAL_JOB, VoiceService
from services.webhooks import DELIVER_WEBHOOK_JOB, WebhookPublisher, WebhookService
from store.connection import connect_store
from store.customers import COMPACT_ENCODING, encoding_shortfalls
from store.dispatch import DispatchLedger
from store.jobs import job_lease
from store.outages import OutageStore
from workers.delivery import release_held, send_batch, send_message, sweep_stalled_fanouts
from workers.publish import publish_notice, redispatch_lost
from workers.repairs import repair_clocks
from workers.timeline import fire_due
from workers.voice import redial_call
from workers.webhooks import deliver_webhook

log = structlog.get_logger("workers")

# A job that lost the store mid-run is run again after this (a Sentinel failover takes 2-5 s).
STORE_LOST_PAUSE = timedelta(seconds=2)

# The publishers a test puts in place of the real ones (the fan-outs still run the sweep).
RegistryFactory = Callable[[ArqRedis], PublisherRegistry]
ChannelsFactory = Callable[[Settings, ArqRedis, Clock], list[Channel]]


def leased(job: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
    """`job` holding a short, renewed lease while it runs (store.jobs): if its worker dies it is
    run again after JOB_LEASE, not after JOB_TIMEOUT + 10 s."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any) -> Any:
        seconds = ctx["settings"].job_lease.total_seconds()
        try:
            async with job_lease(ctx["redis"], ctx["job_id"], seconds):
                return await job(ctx, *args)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # The store went away mid-job (a failover, a restart): run the job again once it is
            # back, rather than failing it; every leased job picks up where the ledger says.
            raise Retry(defer=STORE_LOST_PAUSE) from exc

    return cast(WorkerCoroutine, run)


# How often a stop request is repeated until the worker's main loop has stopped.
STOP_AGAIN_AFTER_S = 1.0


class Worker(ArqWorker):
    """arq's worker, insisting on a stop: SIGTERM cancels the main loop, and on Python 3.11 a
    cancel that meets a Redis command finishing in the same turn is lost (asyncio.wait_for in
    redis-py's writes; tests/test_shutdown.py), leaving the worker polling and starting jobs. The
    cancel is repeated until the loop has stopped. Running jobs are cancelled once, as arq does:
    a job being cancelled is finishing its own clean-up, which another cancel would cut short."""

    def handle_sig(self, signum: Signals) -> None:
        super().handle_sig(signum)
        self.loop.call_later(STOP_AGAIN_AFTER_S, self._stop_again)

    def _stop_again(self) -> None:
        if self.main_task is not None and not self.main_task.done():
            self.main_task.cancel()
            self.loop.call_later(STOP_AGAIN_AFTER_S, self._stop_again)


def build_worker(
    settings: Settings,
    clock: Clock,
    *,
    publishers: RegistryFactory | None = None,
    channels: ChannelsFactory = build_channels,
    redis: ArqRedis | None = None,
    burst: bool = False,
    monotonic: Callable[[], float] = time.monotonic,
) -> Worker:
    """A worker on `redis` if given (tests), else on the configured store, connected at startup.

    `monotonic` measures how long a batch job has run (tests pass one that leaps)."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        pool = ctx["redis"]
        short = await encoding_shortfalls(pool)
        if short:
            log.warning(
                "redis settings below what keeps the customer registry compact: it will take about "
                "three times the memory (docs/OPERATIONS.md, Memory)",
                found=short,
                wanted={name: COMPACT_ENCODING[name] for name in short},
            )
        ctx["outages"] = OutageStore(pool)
        ctx["dispatch"] = DispatchLedger(pool)
        fault_reports = FaultReportService(OutageService(settings, pool, clock), pool)
        ctx["fault_reports"] = fault_reports
        ctx["followups"] = FollowUpService(settings, pool, clock, fault_reports)
        webhooks = ctx["webhooks"] = WebhookService(settings, pool, clock)
        ctx["voice"] = VoiceService(settings, pool, clock)
        areas = AreaSubscriptionService(settings, pool, clock)
        built = channels(settings, pool, clock)
        fanouts = {c.name: Fanout(pool, settings, clock, c) for c in built}
        ctx["fanouts"] = fanouts
        ctx["senders"] = {c.name: Sender(pool, settings, c, clock, monotonic) for c in built}
        ctx["publishers"] = (
            publishers(pool)
            if publishers
            else PublisherRegistry(
                [
                    WebPublisher(pool),
                    IvrPublisher(pool),
                    *fanouts.values(),
                    WebhookPublisher(webhooks),
                    AreaPublisher(areas),
                ]
            )
        )

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        for sender in ctx["senders"].values():
            await sender.provider.close()

    if redis is None:
        redis = connect_store(settings)
    return Worker(
        functions=[
            func(leased(publish_notice), name=PUBLISH_JOB, keep_result=60, max_tries=20),
            # One per call and menu: a repeated key press does not send twice.
            func(leased(send_message), name=SEND_MESSAGE_JOB, keep_result=3600, max_tries=5),
            # The first try and one per pause of the retry schedule (about a day).
            func(redial_call, name=REDIAL_JOB, keep_result=3600, max_tries=3),
            func(
                deliver_webhook, name=DELIVER_WEBHOOK_JOB, keep_result=3600, max_tries=len(RETRY_PAUSES) + 1
            ),
            func(
                leased(send_batch),
                name=SEND_BATCH_JOB,
                keep_result=3600,
                max_tries=12,
            ),
        ],
        cron_jobs=[
            cron(redispatch_lost, second={0}, run_at_startup=True, unique=True),
            cron(release_held, second={30}, run_at_startup=True, unique=True),
            cron(fire_due, second={15}, run_at_startup=True, unique=True),
            # The 3-minute acceptance clock: looked at every 10 s, so an alarm is at most 10 s late.
            cron(repair_clocks, second=set(range(5, 60, 10)), run_at_startup=True, unique=True),
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
