"""Outage operations: pure workflow decisions, applied atomically in the store, then queued."""

from collections.abc import Callable, Sequence
from datetime import datetime

import msgspec
from arq.connections import ArqRedis

from schemas.clock import Clock
from schemas.errors import Conflict
from schemas.keys import ApiKey
from schemas.kinds import OutageKind, Status
from schemas.outage import ChangeRequest, HistoryEntry, Outage, OutageSubmission
from schemas.reviews import ReviewItem, overdue_item, review_item, unconfirmed_item
from schemas.rules import is_active, review_deadline
from schemas.settings import Settings
from schemas.timeline import Event, Timed, fault_alarm_at, is_overdue
from schemas.workflow import (
    Transition,
    approve,
    check_region,
    reject,
    request_change,
    review_version,
    revise,
    same_submission,
    submit,
)
from services.acknowledged import acknowledged
from services.jobs import enqueue_publish
from store.customers import CustomerStore
from store.fault_reports import FaultReportStore
from store.outages import OutageStore
from store.timeline import Timeline
from store.voice import VoiceStore


class OutageService:
    def __init__(self, settings: Settings, redis: ArqRedis, clock: Clock) -> None:
        self.settings = settings
        self.redis = redis
        self.store = OutageStore(redis)
        self.fault_reports = FaultReportStore(redis)
        self.clock = clock

    def _deadline(self, outage: Outage) -> datetime:
        return review_deadline(outage, self.settings.lead_times)

    async def submit(self, submission: OutageSubmission, caller: ApiKey) -> tuple[Outage, bool]:
        """The stored record and whether it was created now (False: a re-sent submission)."""
        existing = await self.store.find_by_external_id(caller.centre, submission.external_id)
        if existing is None:
            now = self.clock()
            outage_id = self.store.new_id(now)
            transition = submit(
                submission,
                caller,
                outage_id,
                now,
                self.settings.lead_times,
                self.settings.clock_skew,
                await self._registered(submission),
            )
            stored = await self.store.create(transition, self._deadline)
            if stored.id == outage_id:
                alarm = fault_alarm_at(stored)
                if alarm is not None:
                    await Timeline(self.redis).schedule(stored.id, Timed(Event.FAULT_ALARM, alarm))
                await self.acknowledged()
                return stored, True
            existing = stored
        if not same_submission(existing, submission):
            raise Conflict(
                f"external_id: {submission.external_id} is already outage {existing.id} with other "
                f"content; revise it with PUT /api/v1/outages/{existing.id}",
                field="external_id",
                rule="unique_per_centre",
                outage_id=existing.id,
            )
        # A resend after a 503 is answered only once the replicas have the record too.
        await self.acknowledged()
        return existing, False

    async def get(self, outage_id: str, caller: ApiKey) -> Outage:
        outage = await self.store.get(outage_id)
        check_region(outage, caller)
        return (await self._counted([outage]))[0]

    async def _counted(self, outages: list[Outage]) -> list[Outage]:
        """The records with how many fault reports each explained."""
        counts = await self.fault_reports.explained_counts([o.id for o in outages])
        return [msgspec.structs.replace(o, reports=counts[o.id]) if o.id in counts else o for o in outages]

    async def _apply(self, outage_id: str, decide: Callable[[Outage], Transition]) -> Outage:
        transition = await self.store.update(outage_id, decide, self._deadline)
        if transition.published_notice is not None:
            await enqueue_publish(
                self.redis, self.settings.queue_name, transition.outage.id, transition.published_notice
            )
        await self.acknowledged()
        return transition.outage

    async def acknowledged(self) -> None:
        await acknowledged(self.redis, self.settings)

    async def revise(self, outage_id: str, submission: OutageSubmission, caller: ApiKey) -> Outage:
        now = self.clock()
        registered = await self._registered(submission)
        return await self._apply(
            outage_id,
            lambda o: revise(
                o, submission, caller, now, self.settings.lead_times, self.settings.clock_skew, registered
            ),
        )

    async def _registered(self, submission: OutageSubmission) -> frozenset[str]:
        """Those of the accounts named that the registry holds in the submission's region."""
        accounts = submission.scope.accounts
        found = await CustomerStore(self.redis).many(accounts)
        return frozenset(c.account for c in found if c is not None and c.region == submission.region)

    async def approve(self, outage_id: str, caller: ApiKey, read: Sequence[str]) -> Outage:
        """Approves if the record is still at one of the versions the reviewer `read`."""
        now = self.clock()
        return await self._apply(outage_id, lambda o: approve(o, caller, now, self.settings.lead_times, read))

    async def approve_current(self, outage_id: str, caller: ApiKey) -> Outage:
        """For the demo loader and benchmarks, which approve what they have just written themselves."""
        return await self.approve(outage_id, caller, [review_version(await self.get(outage_id, caller))])

    async def reject(self, outage_id: str, reason: str, caller: ApiKey, read: Sequence[str]) -> Outage:
        now = self.clock()
        return await self._apply(outage_id, lambda o: reject(o, caller, reason, now, read))

    async def change(self, outage_id: str, request: ChangeRequest, caller: ApiKey) -> Outage:
        now = self.clock()
        return await self._apply(
            outage_id, lambda o: request_change(o, request, caller, f"c{len(o.changes) + 1}", now)
        )

    async def search(
        self,
        caller: ApiKey,
        *,
        status: Status | None,
        kind: OutageKind | None,
        active_at: datetime | None,
    ) -> list[Outage]:
        def keep(outage: Outage) -> bool:
            if status is not None and outage.status is not status:
                return False
            if kind is not None and outage.kind is not kind:
                return False
            return active_at is None or is_active(outage, active_at)

        return await self._counted(await self.store.in_region(caller.region, keep))

    async def page(self, caller: ApiKey, offset: int, limit: int) -> tuple[list[Outage], int]:
        items, total = await self.store.page(caller.region, offset, limit)
        return await self._counted(items), total

    async def published_between(self, caller: ApiKey, start: datetime, end: datetime) -> list[Outage]:
        return await self._counted(await self.store.published_between(caller.region, start, end))

    async def awaiting_review(self, caller: ApiKey) -> list[Outage]:
        return await self.store.awaiting_review(caller.region)

    async def history(self, outage_id: str, caller: ApiKey) -> list[HistoryEntry]:
        await self.get(outage_id, caller)
        return await self.store.history(outage_id)

    async def review_queue(self, caller: ApiKey) -> list[ReviewItem]:
        """What awaits review in the caller's region, and the published outages past their expected
        restoration (overdue), sorted by deadline."""
        now = self.clock()
        items = [review_item(o, now, self.settings.lead_times) for o in await self.awaiting_review(caller)]
        for outage_id in await Timeline(self.redis).overdue(caller.region):
            outage = await self.store.get(outage_id)
            if is_overdue(outage, now):
                items.append(overdue_item(outage, now))
        # Important customers whose calls nobody confirmed: a person calls them.
        for (outage_id, notice_id), entries in (await VoiceStore(self.redis).flagged(caller.region)).items():
            items.append(unconfirmed_item(await self.store.get(outage_id), notice_id, entries, now))
        counts = await self.fault_reports.explained_counts([item.outage_id for item in items])
        items = [msgspec.structs.replace(i, reports=counts.get(i.outage_id, 0)) for i in items]
        return sorted(items, key=lambda item: item.deadline)
