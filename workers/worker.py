"""Builds the arq Worker with its dependencies in ctx."""

from typing import Any

from arq import cron
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker, func

from publishers.registry import PublisherRegistry
from schemas.clock import Clock
from schemas.settings import Settings
from store.dispatch import DispatchLedger
from store.outages import OutageStore
from workers.publish import PUBLISH_JOB, publish_notice, redispatch_lost


def build_worker(
    settings: Settings,
    publishers: PublisherRegistry,
    clock: Clock,
    *,
    redis: ArqRedis | None = None,
    burst: bool = False,
) -> Worker:
    """A worker on `redis` if given (tests), else on settings.redis_url, connected at startup."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["outages"] = OutageStore(ctx["redis"])
        ctx["dispatch"] = DispatchLedger(ctx["redis"])

    if redis is None and settings.redis_url is None:
        raise ValueError("the worker needs REDIS_URL (or a Redis client)")
    return Worker(
        functions=[func(publish_notice, name=PUBLISH_JOB, keep_result=60, max_tries=20)],
        cron_jobs=[cron(redispatch_lost, second={0}, run_at_startup=True, unique=True)],
        queue_name=settings.queue_name,
        redis_pool=redis,
        redis_settings=RedisSettings.from_dsn(settings.redis_url)
        if redis is None and settings.redis_url
        else None,
        ctx={"publishers": publishers, "clock": clock, "queue_name": settings.queue_name},
        on_startup=on_startup,
        burst=burst,
        poll_delay=0.0 if burst else 0.5,
        handle_signals=not burst,
    )
