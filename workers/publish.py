"""Hand a published notice to every registered channel, once per channel."""

from datetime import timedelta
from typing import Any

import structlog
from arq import Retry

from publishers.registry import PublisherRegistry
from schemas.clock import Clock
from schemas.compliance import FAULT_DELAY_BUCKETS
from schemas.followups import check_at, survey_at
from schemas.kinds import Status
from schemas.notices import Notice, notice_of
from schemas.outage import HistoryEntry, Outage
from schemas.settings import Settings
from schemas.timeline import DEFAULT_REMINDERS, Event, Timed, follow_ups
from services.jobs import enqueue_publish
from store.dispatch import DispatchLedger
from store.outages import OutageStore
from store.stats import Stats
from store.timeline import Timeline

log = structlog.get_logger("workers.publish")

# A notice still pending this long after publication lost its job; the sweep enqueues it again.
LOST_AFTER = timedelta(minutes=2)


async def publish_notice(ctx: dict[str, Any], outage_id: str, notice_id: str) -> dict[str, str]:
    outages: OutageStore = ctx["outages"]
    ledger: DispatchLedger = ctx["dispatch"]
    registry: PublisherRegistry = ctx["publishers"]
    clock: Clock = ctx["clock"]
    notice = notice_of(await outages.get(outage_id), notice_id)
    done = await ledger.channels_done(outage_id, notice_id)
    outcome: dict[str, str] = {}
    retry_after: timedelta | None = None
    for publisher in registry:
        channel = publisher.channel
        if channel in done:
            continue
        handed = await publisher.publish(notice)
        if handed.retry_after is not None:
            outcome[channel] = "retrying"
            retry_after = max(retry_after or handed.retry_after, handed.retry_after)
            continue
        outcome[channel] = f"failed: {handed.refused}" if handed.refused else "published"
        await ledger.channel_done(outage_id, notice_id, channel, clock())
    if retry_after is not None:
        raise Retry(defer=retry_after)
    await record_publication(ctx, notice)
    await ledger.complete(outage_id, notice_id)
    await schedule_follow_ups(ctx, notice.outage)
    entry = HistoryEntry(
        at=clock(),
        action="dispatched",
        by=None,
        change_id=None if notice.change is None else notice.change.id,
        changed={channel: [None, result] for channel, result in outcome.items()},
        note=f"notice {notice_id} handed to: {', '.join(sorted(outcome)) or 'no channel registered'}",
    )
    await outages.append_history(outage_id, [entry])
    log.info("notice published", outage_id=outage_id, notice_id=notice_id, kind=notice.outage.kind.value,
             notice_event=notice.event.value, channels=outcome)  # fmt: skip
    return outcome


async def redispatch_lost(ctx: dict[str, Any]) -> int:
    ledger: DispatchLedger = ctx["dispatch"]
    clock: Clock = ctx["clock"]
    lost = await ledger.pending(published_before=clock() - LOST_AFTER)
    for outage_id, notice_id in lost:
        await enqueue_publish(ctx["redis"], ctx["queue_name"], outage_id, notice_id)
    return len(lost)


async def schedule_follow_ups(ctx: dict[str, Any], outage: Outage) -> None:
    """Reminders, the start and the overdue check, as the record now stands; the survey of its
    notice once it has begun, the restoration check once it is restored."""
    timeline = Timeline(ctx["redis"])
    settings: Settings = ctx["settings"]
    await timeline.replace(outage.id, follow_ups(outage, DEFAULT_REMINDERS))
    if outage.restored_at is not None or outage.status is not Status.PUBLISHED:
        await timeline.clear_overdue(outage.region, outage.id)
    if outage.status is not Status.CANCELLED:
        survey = survey_at(outage.published_at, outage.starts_at, settings.survey_delay)
        if survey is not None:
            await timeline.schedule(outage.id, Timed(Event.SURVEY, survey))
    check = check_at(outage.restored_at, settings.restoration_check_delay)
    if check is not None:
        await timeline.schedule(outage.id, Timed(Event.RESTORATION_CHECK, check))


async def record_publication(ctx: dict[str, Any], notice: Notice) -> None:
    stats = Stats(ctx["redis"])
    outage = notice.outage
    label = f"{outage.kind.value}|{notice.event.value}"
    await stats.add("published", label)
    late = outage.minutes_late if notice.change is None else notice.change.minutes_late
    if late:
        await stats.add("late", label)
    if notice.change is None and outage.publication_delay_minutes is not None:
        delay = outage.publication_delay_minutes
        for bucket in FAULT_DELAY_BUCKETS:
            if delay <= bucket:
                await stats.add("fault_delay", f"le_{float(bucket)}")
        await stats.add("fault_delay", "count")
        await stats.add("fault_delay", "sum", delay)
