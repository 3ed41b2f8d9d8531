"""Fires timed follow-ups when they are due by the service clock: reminders, starts, overdue, alarms."""

import logging
from typing import Any

from publishers.registry import PublisherRegistry
from schemas.clock import Clock
from schemas.fanout import release_time
from schemas.kinds import SCHEDULED_KINDS, NoticeEvent, Status
from schemas.notices import Notice, notice_of, reminder_id, started_id
from schemas.outage import Outage
from schemas.settings import Settings
from schemas.timeline import Event, is_overdue
from store.outages import OutageStore
from store.stats import Stats
from store.timeline import Timeline

log = logging.getLogger("workers.timeline")


def latest_notice(outage: Outage) -> Notice:
    published = [c.id for c in outage.changes if c.published_at is not None]
    return notice_of(outage, published[-1] if published else "new")


async def fire_due(ctx: dict[str, Any]) -> int:
    clock: Clock = ctx["clock"]
    outages: OutageStore = ctx["outages"]
    timeline = Timeline(ctx["redis"])
    registry: PublisherRegistry = ctx["publishers"]
    settings: Settings = ctx["settings"]
    now = clock()
    due = await timeline.take_due(now)
    for event, outage_id in due:
        outage = await outages.get(outage_id)
        if event is Event.RESTORATION_CHECK:
            await ctx["followups"].restoration_check(outage)
            continue
        if event is Event.SURVEY:
            if outage.status is not Status.CANCELLED:
                await ctx["followups"].survey(outage)
            continue
        if event is Event.FAULT_ALARM:
            if outage.status is Status.PENDING_REVIEW:
                log.error("fault %s still awaits review with 5 minutes or less of its 20 left", outage_id)
                await Stats(ctx["redis"]).add("alarms", "fault_review")
            continue
        if outage.status is not Status.PUBLISHED:
            continue
        if event is Event.REMINDER and outage.starts_at > now:
            await registry.publish_to(["sms"], notice_of(outage, reminder_id(outage)))
        elif event is Event.STARTS:
            # Pages, feeds and the phone menu now say "in progress": refresh them and tell live pages.
            await registry.publish_to(["web", "ivr"], latest_notice(outage))
            # Customers of a planned or temporary outage hear it has begun, unless that is at night.
            s = settings
            if outage.kind in SCHEDULED_KINDS and (
                release_time(outage.kind, NoticeEvent.REMINDER, now, s.quiet_start, s.quiet_end, s.zone)
                is None
            ):
                await registry.publish_to(["sms"], notice_of(outage, started_id(outage)))
        elif event is Event.OVERDUE and is_overdue(outage, now):
            assert outage.ends_at is not None
            await timeline.flag_overdue(outage.region, outage.id, outage.ends_at)
            log.warning("outage %s is past its expected restoration and not marked restored", outage_id)
    return len(due)
