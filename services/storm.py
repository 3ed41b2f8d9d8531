"""The storm view: totals, districts and the last day's trend of the published outages, with
customer counts from the registry (store/storm.py) and the display rules of schemas/storm.py."""

from datetime import datetime

from redis.asyncio import Redis

from schemas.fault_reports import DISPATCH_ROLES, RepairStatus, SuspectStatus, require_role
from schemas.keys import ApiKey
from schemas.kinds import OutageKind
from schemas.public import PublicOutage
from schemas.regions import region_name
from schemas.settings import Settings
from schemas.storm import (
    DispatchStorm,
    District,
    StormSummary,
    TrendPoint,
    active,
    notice_share,
    out_at,
    restoration_span,
    restored_recently,
    shown_count,
    trend_moments,
)
from services.fault_reports import FaultReportService
from services.outages import OutageService
from services.reports import ReportService
from store.customers import CustomerStore
from store.storm import StormCounts
from store.web import WebStore

TOTAL = ""


class StormService:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.web = WebStore(redis)
        self.counts = StormCounts(redis)
        self.customers = CustomerStore(redis)
        self.minimum = settings.storm_min_count

    async def visible(self, region: str | None, now: datetime) -> list[PublicOutage]:
        return await self.web.visible(region, now)

    async def summary(self, now: datetime, region: str | None = None, *, exact: bool = False) -> StormSummary:
        """The storm's figures as of `now` (for one region, or all); `exact`: no "< N" (dispatch
        sees its own registry)."""
        return await self.summary_of(await self.visible(region, now), now, exact=exact)

    async def summary_of(
        self, shown: list[PublicOutage], now: datetime, *, exact: bool = False
    ) -> StormSummary:
        """The figures of `shown`, the published outages a page already read."""
        minimum = 1 if exact else self.minimum
        live = active(shown, now)
        by_region: dict[str, list[PublicOutage]] = {}
        for outage in live:
            by_region.setdefault(outage.region, []).append(outage)
        moments = trend_moments(now)
        groups = {TOTAL: [o.id for o in live]}
        groups.update({r: [o.id for o in outages] for r, outages in by_region.items()})
        groups.update({f"@{n}": [o.id for o in out_at(shown, m)] for n, m in enumerate(moments[:-1])})
        distinct = await self.counts.distinct(groups)
        restored = await self.counts.restored_not_out(
            [o.id for o in restored_recently(shown, now)], groups[TOTAL]
        )
        registered = await self.customers.registered(sorted(by_region))
        districts = []
        for code in sorted(by_region, key=lambda r: (-distinct[r], r)):
            out = shown_count(distinct[code], minimum)
            earliest, latest = restoration_span(by_region[code])
            share = None
            if out.value is not None and registered.get(code):
                share = round(min(1.0, out.value / registered[code]), 4)
            districts.append(
                District(
                    region=code,
                    name=region_name(code),
                    outages=len(by_region[code]),
                    customers_out=out,
                    share=share,
                    earliest_restoration=earliest,
                    latest_restoration=latest,
                )
            )
        trend = [
            TrendPoint(at=m, customers_out=shown_count(distinct[f"@{n}"], minimum))
            for n, m in enumerate(moments[:-1])
        ]
        trend.append(TrendPoint(at=now, customers_out=shown_count(distinct[TOTAL], minimum)))
        return StormSummary(
            generated_at=now,
            customers_out=shown_count(distinct[TOTAL], minimum),
            outages_active=len(live),
            customers_restored_24h=shown_count(restored, minimum),
            districts=districts,
            trend=trend,
        )


class DispatchStormService:
    """The storm view for a region's dispatch centre (any dispatch role of that region)."""

    def __init__(
        self,
        storm: StormService,
        outages: OutageService,
        fault_reports: FaultReportService,
        reports: ReportService,
    ) -> None:
        self.storm = storm
        self.outages = outages
        self.fault_reports = fault_reports
        self.reports = reports

    async def view(self, caller: ApiKey, now: datetime) -> DispatchStorm:
        require_role(caller.roles, DISPATCH_ROLES, "the dispatch storm view")
        shown = await self.storm.visible(caller.region, now)
        summary = await self.storm.summary_of(shown, now, exact=True)
        queue = await self.outages.review_queue(caller)
        faults = [
            i
            for i in queue
            if i.kind is OutageKind.FAULT and not i.overdue and i.fault_minutes_left is not None
        ]
        repairs = await self.fault_reports.repair_queue(caller, RepairStatus.OPEN)
        suspects = await self.fault_reports.suspects(caller, SuspectStatus.OPEN)
        deliveries = []
        for outage in active(shown, now):
            report = await self.reports.deliveries(outage.id, caller)
            deliveries += [notice_share(outage.id, outage.title, n.notice, n.sms) for n in report.notices]
        return DispatchStorm(
            region=caller.region,
            summary=summary,
            fault_clock_breached=[i for i in faults if (i.fault_minutes_left or 0) < 0],
            fault_clock_running=[i for i in faults if (i.fault_minutes_left or 0) >= 0],
            overdue_restorations=[i for i in queue if i.overdue],
            repair_orders_open=len(repairs),
            repair_orders_accept_overdue=sum(1 for r in repairs if r.accept_overdue),
            suspected_outages=suspects,
            deliveries=sorted(deliveries, key=lambda d: (d.share is None, d.share or 0.0)),
        )
