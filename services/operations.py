"""What operators read: whether the service is ready, and the metrics (counters kept in Redis,
so every API and worker process adds to the same totals)."""

import asyncio
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schemas.compliance import FAULT_DELAY_BUCKETS
from schemas.settings import Settings
from store.outages import OutageStore
from store.stats import Stats
from store.timeline import Timeline


class Snapshot:
    """Families read from Redis at scrape time, so every process's work counts."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


async def families(redis: Redis, settings: Settings, now: datetime) -> list[Any]:
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
    buckets = [(str(float(b)), delays.get(f"le_{float(b)}", 0.0)) for b in FAULT_DELAY_BUCKETS]
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
    alarm_counts = await stats.read("alarms")
    alarms.add_metric([], alarm_counts.get("fault_review", 0.0))
    repair_alarms = CounterMetricFamily(
        "outage_repair_acceptance_alarms", "Repair orders not accepted within 3 minutes of dispatch"
    )
    repair_alarms.add_metric([], alarm_counts.get("repair_acceptance", 0.0))
    reports = CounterMetricFamily(
        "outage_fault_reports", "Customers' fault reports", labels=["channel", "outcome"]
    )
    for field, value in (await stats.read("reports")).items():
        reports.add_metric(field.split("|"), value)
    repairs = CounterMetricFamily("outage_repair_orders", "Repair orders by what happened", labels=["event"])
    for field, value in (await stats.read("repairs")).items():
        repairs.add_metric([field], value)
    suspected = CounterMetricFamily("outage_suspected_outages", "Suspected outages found", labels=["level"])
    for field, value in (await stats.read("suspected")).items():
        suspected.add_metric([field], value)
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
    return [published, late, fault, sms, errors, alarms, repair_alarms, reports, repairs, suspected, queue,
            held, oldest, waiting, overdue]  # fmt: skip


class OperationsService:
    def __init__(self, settings: Settings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis

    async def readiness(self) -> dict[str, str]:
        """ "ok" per check when Redis answers (within a second) and a worker was seen lately."""
        checks = {"redis": "ok", "worker": "ok"}
        try:
            async with asyncio.timeout(1.0):
                await self.redis.ping()
                if not await Stats(self.redis).worker_seen(self.settings.queue_name):
                    checks["worker"] = "no heartbeat"
        except (RedisError, TimeoutError, OSError):
            checks = {"redis": "unreachable", "worker": "unknown"}
        return checks

    async def metric_families(self, now: datetime) -> list[Any]:
        return await families(self.redis, self.settings, now)
