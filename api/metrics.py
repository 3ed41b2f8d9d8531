"""/health, /ready and /metrics (Prometheus text format)."""

import asyncio
import time
from datetime import datetime
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schemas.clock import Clock
from schemas.settings import Settings
from store.outages import OutageStore
from store.stats import Stats
from store.timeline import Timeline

FAULT_DELAY_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 60.0)


class ProcessMetrics:
    """What only this process sees: how long the phone menu took to answer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ivr_seconds = Histogram(
            "outage_ivr_request_seconds",
            "Time to answer an IVR webhook",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )


class _Snapshot:
    """Families read from Redis at scrape time, so every process's work counts."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


async def _families(redis: Redis, settings: Settings, now: datetime) -> list[Any]:
    stats = Stats(redis)
    published = CounterMetricFamily("outage_notices_published", "Notices published", labels=["kind", "event"])
    for field, value in (await stats.read("published")).items():
        published.add_metric(field.split("|"), value)
    late = CounterMetricFamily("outage_notices_late", "Notices published after their rule's deadline", labels=["kind", "event"])  # fmt: skip
    for field, value in (await stats.read("late")).items():
        late.add_metric(field.split("|"), value)
    delays = await stats.read("fault_delay")
    fault = HistogramMetricFamily(
        "outage_fault_publication_delay_minutes", "Minutes from fault location to publication"
    )
    buckets = [(str(b), delays.get(f"le_{b}", 0.0)) for b in FAULT_DELAY_BUCKETS]
    fault.add_metric([], [*buckets, ("+Inf", delays.get("count", 0.0))], sum_value=delays.get("sum", 0.0))
    sms = CounterMetricFamily("outage_sms_messages", "SMS that reached each status", labels=["status"])
    errors = CounterMetricFamily("outage_sms_errors", "Failed or undelivered SMS by provider code", labels=["status", "code"])  # fmt: skip
    for field, value in (await stats.read("sms")).items():
        status, _, code = field.partition(":")
        if code:
            errors.add_metric([status, code], value)
        else:
            sms.add_metric([status], value)
    alarms = CounterMetricFamily(
        "outage_fault_review_alarms", "Faults still unreviewed with 5 of their 20 minutes left"
    )
    alarms.add_metric([], (await stats.read("alarms")).get("fault_review", 0.0))
    queue = GaugeMetricFamily("outage_queue_jobs", "Jobs waiting in the arq queue (publish and SMS batches)")
    queue.add_metric([], await stats.queue_depth(settings.queue_name))
    held = GaugeMetricFamily("outage_sms_held_batches", "SMS batches held for quiet hours")
    held.add_metric([], await stats.held_batches())
    oldest = GaugeMetricFamily("outage_review_queue_oldest_seconds", "Age of the oldest notice awaiting review", labels=["region"])  # fmt: skip
    waiting = GaugeMetricFamily("outage_review_queue_items", "Notices awaiting review", labels=["region"])
    overdue = GaugeMetricFamily("outage_overdue_outages", "Published outages past their expected restoration", labels=["region"])  # fmt: skip
    store, timeline = OutageStore(redis), Timeline(redis)
    for region in await stats.regions():
        pending = await store.awaiting_review(region)
        waiting.add_metric([region], len(pending))
        ages = [(now - (o.pending_change() or o).submitted_at).total_seconds() for o in pending]
        oldest.add_metric([region], max(ages, default=0.0))
        overdue.add_metric([region], len(await timeline.overdue(region)))
    return [published, late, fault, sms, errors, alarms, queue, held, oldest, waiting, overdue]


@get("/health", tags=["operations"], summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", tags=["operations"], summary="Redis answers and a worker was seen in the last minute")
async def ready(
    redis: NamedDependency[Redis], settings: NamedDependency[Settings]
) -> Response[dict[str, str]]:
    checks = {"redis": "ok", "worker": "ok"}
    try:
        async with asyncio.timeout(1.0):
            await redis.ping()
            if not await Stats(redis).worker_seen(settings.queue_name):
                checks["worker"] = "no heartbeat"
    except (RedisError, TimeoutError, OSError):
        checks = {"redis": "unreachable", "worker": "unknown"}
    if all(v == "ok" for v in checks.values()):
        return Response(checks)
    return Response(checks, status_code=503, headers={"Retry-After": "5"})


@get("/metrics", tags=["operations"], summary="Prometheus metrics", media_type="text/plain; version=0.0.4")
async def metrics(
    redis: NamedDependency[Redis],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    process_metrics: NamedDependency[ProcessMetrics],
) -> Response[bytes]:
    started = time.perf_counter()
    registry = CollectorRegistry()
    registry.register(_Snapshot(await _families(redis, settings, clock())))
    body = generate_latest(registry) + generate_latest(process_metrics.registry)
    scrape = f"# scrape took {time.perf_counter() - started:.4f}s\n".encode()
    return Response(body + scrape, media_type="text/plain; version=0.0.4")
