"""Customers' fault reports: who is reporting, whether a published outage already explains it,
else a repair order in the region's queue; unexplained reports grouped into suspected outages
that dispatch confirms (a fault record, through the normal review) or dismisses."""

import secrets
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog
from arq.connections import ArqRedis

from schemas.clock import Clock
from schemas.customers import Customer, address_key, e164
from schemas.errors import Conflict, Forbidden, NotFound, Unprocessable
from schemas.fault_reports import (
    DISPATCH_ROLES,
    REPORTING_ROLES,
    FaultDraft,
    FaultReport,
    RepairOrder,
    RepairStatus,
    ReportChannel,
    ReportOutcome,
    ReportSubmission,
    SuspectConfirmation,
    SuspectedOutage,
    SuspectStatus,
    Symptom,
    Urgency,
    accept_overdue,
    queue_order,
    require_role,
    share_of,
    suspected_area,
    suspected_feeder,
    urgency_of,
)
from schemas.ivr import IvrOutage, describe, relevant
from schemas.keys import ApiKey
from schemas.kinds import ACCOUNT_KINDS, OutageKind
from schemas.outage import Outage, OutageSubmission, Scope
from schemas.settings import Settings
from services.jobs import enqueue_message
from services.outages import OutageService
from store.customers import CustomerStore
from store.fault_reports import FaultReportStore, Grouping, OpenItems
from store.ivr import IvrIndex
from store.stats import Stats

log = structlog.get_logger("services.fault_reports")

# An outage that has begun, or begins within this long, explains "no power" (crews start early).
STARTS_SOON = timedelta(minutes=15)
AREA, FEEDER = "transformer_area", "feeder"
# The ledger's "outage" of the messages telling reporters their suspected outage is confirmed.
CONFIRMED_REPORTS = "confirmed-reports"


class ReportReceipt(msgspec.Struct, kw_only=True):
    """What a reporter is told, and what was stored."""

    report: FaultReport
    # The outages that explain it, as sentences in the reporter's language (empty: a repair order).
    explanation: list[str]
    repair_id: str | None
    urgent: bool


class NeedsAccount(Unprocessable):
    """The phone is registered on several accounts (or none): the reporter must say which."""


def _new_id(prefix: str, now: datetime) -> str:
    return f"{prefix}-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


class FaultReportService:
    def __init__(self, outages: OutageService, redis: ArqRedis) -> None:
        self.outages = outages
        self.queue = redis
        self.settings: Settings = outages.settings
        self.clock: Clock = outages.clock
        self.store = FaultReportStore(redis)
        self.customers = CustomerStore(redis)
        self.index = IvrIndex(redis)
        self.stats = Stats(redis)

    async def reporter(self, submission: ReportSubmission, *, caller_phone: str = "") -> tuple[Customer, str]:
        """The customer reporting, and their phone (E.164, "" if unknown), from an account and/or
        a phone; `caller_phone` is the number the report came from (caller ID, SMS sender)."""
        phone = ""
        raw_phone = caller_phone or submission.phone
        if raw_phone:
            try:
                phone = e164(raw_phone)
            except ValueError as exc:
                raise Unprocessable(str(exc), field="phone", rule="e164") from None
        if submission.account:
            customer = await self.customers.get(submission.account)
            if customer is None:
                raise Unprocessable(
                    f"account {submission.account} is not in the customer registry",
                    field="account",
                    rule="registered",
                )
            return customer, phone
        if not phone:
            raise Unprocessable(
                "give an account number or a registered phone", field="account", rule="required"
            )
        accounts = await self.customers.accounts_of_phone(phone)
        if len(accounts) != 1:
            raise NeedsAccount(
                "this phone is registered on several accounts: say which"
                if accounts
                else "this phone is not registered on any account: give the account number",
                field="account",
                rule="one_account" if accounts else "registered",
            )
        customer = await self.customers.get(accounts[0])
        if customer is None:
            raise NeedsAccount("give the account number", field="account", rule="registered")
        return customer, phone

    async def report(
        self,
        submission: ReportSubmission,
        channel: ReportChannel,
        *,
        caller_phone: str = "",
        agent: ApiKey | None = None,
        language: str = "zh-CN",
        after_restoration: bool = False,
    ) -> ReportReceipt:
        """Take a report: explained by a published outage at once, else a repair order (and a
        suspected outage when it tips one).

        An account's own stoppages (arrears, violation, theft) explain a report only when the
        reporter is vouched for: a 95598 agent, or the report came from a phone registered on that
        account. Nobody else learns of them; their repair order carries the outage for dispatch.
        """
        if agent is not None:
            require_role(agent.roles, REPORTING_ROLES, "filing a fault report")
        customer, phone = await self.reporter(submission, caller_phone=caller_phone)
        if agent is not None and customer.region != agent.region:
            raise Forbidden(
                f"account {customer.account} belongs to another region's registry",
                field="account",
                rule="region",
            )
        now = self.clock()
        vouched = agent is not None or (
            bool(caller_phone) and customer.account in await self.customers.accounts_of_phone(phone)
        )
        covering = await self._covering(customer, now, private=True)
        told = [o for o in covering if vouched or o.kind not in ACCOUNT_KINDS]
        report = FaultReport(
            id=_new_id("RPT", now),
            region=customer.region,
            account=customer.account,
            phone=phone,
            channel=channel,
            at=now,
            symptom=submission.symptom,
            description=submission.description,
            urgency=urgency_of(submission.symptom, customer.important),
            outcome=ReportOutcome.EXPLAINED if told else ReportOutcome.REPAIR,
            feeder=customer.feeder,
            transformer_area=customer.transformer_area,
            after_restoration=after_restoration,
        )
        window = self.settings.report_group_window
        sentences = [describe(o, now, language, self.settings.zone) for o in told]
        if told:
            report.outage_id = told[0].id
            await self.store.add_reporters(report.outage_id, [customer.account], published=True)
            # Wires down or fire during a known outage still needs a crew, at once.
            if report.symptom is not Symptom.HAZARD:
                await self.store.save_report(report, window=window, counted_as=f"{channel.value}|explained")
                return ReportReceipt(report=report, explanation=sentences, repair_id=None, urgent=False)
        hidden = None if told else next((o.id for o in covering), None)
        report.repair_id, open_items = await self._repair_for(customer, phone, report, hidden)
        grouping = await self.store.save_report(
            report,
            window=window,
            counted_as=f"{channel.value}|{'explained' if told else 'repair'}",
            announce="repair",
            open_items=open_items,
        )
        if not told:
            await self._group(report, grouping)
        log.info("fault report opened a repair order", report_id=report.id, repair_id=report.repair_id,
                 region=report.region, urgency=report.urgency.value, channel=channel.value)  # fmt: skip
        return ReportReceipt(
            report=report,
            explanation=sentences,
            repair_id=report.repair_id,
            urgent=report.urgency is Urgency.URGENT,
        )

    async def standing(
        self, account: str, caller_phone: str, language: str
    ) -> tuple[list[str], RepairOrder | None]:
        """What a reporter of `account` was told, read again without filing anything: the
        outages covering them (their own stoppages only if `caller_phone` is on the account) and
        the account's open repair order."""
        customer = await self.customers.get(account)
        if customer is None:
            return [], None
        now = self.clock()
        vouched = account in await self.customers.accounts_of_phone(caller_phone) if caller_phone else False
        told = [o for o in await self._covering(customer, now, private=vouched)]
        sentences = [describe(o, now, language, self.settings.zone) for o in told]
        repair_id = await self.store.open_repair_of(account, address_key(customer.address))
        order = None if repair_id is None else await self.store.repair(repair_id)
        return sentences, order

    async def _covering(self, customer: Customer, now: datetime, *, private: bool) -> list[IvrOutage]:
        return [
            o
            for o in await self.index.for_customer(customer, now, private=private)
            if relevant(o, now) and o.starts_at <= now + STARTS_SOON
        ]

    async def _repair_for(
        self, customer: Customer, phone: str, report: FaultReport, hidden: str | None
    ) -> tuple[str, OpenItems]:
        """The open order of this account or address the report joins, else a new one; and the
        open suspected outages of its area and feeder."""
        address = address_key(customer.address)
        now = report.at
        order = RepairOrder(
            id=_new_id("RO", now),
            region=customer.region,
            account=customer.account,
            phone=phone or customer.phone,
            feeder=customer.feeder,
            transformer_area=customer.transformer_area,
            address=customer.address,
            symptom=report.symptom,
            urgency=report.urgency,
            status=RepairStatus.OPEN,
            created_at=now,
            dispatched_at=now,
            reports=[report.id],
            covered_by=hidden,
            after_restoration=report.after_restoration,
        )
        for _ in range(3):
            placed = await self.store.create_repair(order, address, self.settings.repair_merge_window)
            # The open order it joins may be resolved this very moment: then a new one is made.
            if placed.created or await self._join(placed.repair_id, report):
                return placed.repair_id, placed.open_items
        raise Conflict("the repair order of this account keeps changing: try again", rule="repair_order")

    async def _join(self, repair_id: str, report: FaultReport) -> bool:
        def join(order: RepairOrder) -> RepairOrder | None:
            if order.status is RepairStatus.RESOLVED:
                return None
            urgent = Urgency.URGENT if report.urgency is Urgency.URGENT else order.urgency
            return msgspec.structs.replace(
                order,
                reports=[*order.reports, report.id],
                urgency=urgent,
                after_restoration=order.after_restoration or report.after_restoration,
            )

        return await self.store.update_repair(repair_id, join) is not None

    async def _group(self, report: FaultReport, grouping: Grouping) -> None:
        """Does this report tip its area (or feeder) into a suspected outage, or join an open one?
        Decided now, with it."""
        for level, scope, open_id, tipped in (
            (AREA, report.transformer_area, grouping.area_suspect,
             suspected_area(grouping.area_accounts, self.settings.report_group_accounts)),
            (FEEDER, report.feeder, grouping.feeder_suspect,
             suspected_feeder(grouping.feeder_areas, self.settings.report_feeder_areas)),
        ):  # fmt: skip
            # A report of an open suspected outage was counted on it as it was saved.
            if open_id is None and tipped:
                since = report.at - self.settings.report_group_window
                await self._suspect(
                    report, level, scope, await self.store.in_window(report.region, level, scope, since)
                )

    async def _suspect(self, report: FaultReport, level: str, scope: str, reports: list[FaultReport]) -> None:
        region = report.region
        accounts = {r.account for r in reports}
        customers = await self.customers.count_in(
            region,
            feeder=scope if level == FEEDER else "",
            transformer_area=scope if level == AREA else "",
        )
        first = min(r.at for r in reports)
        figures: dict[str, Any] = {
            "accounts": len(accounts),
            "reports": len(reports),
            "urgent": sum(r.urgency is Urgency.URGENT for r in reports),
            "first_report_at": first,
            "last_report_at": max(r.at for r in reports),
            "customers": customers,
            "share": share_of(len(accounts), customers),
            "report_accounts": sorted(accounts),
        }
        where = f"台区{scope}" if level == AREA else f"线路{scope}"
        suspect = SuspectedOutage(
            id=_new_id("SUS", report.at),
            region=region,
            level=level,
            feeder=report.feeder,
            transformer_area=scope if level == AREA else "",
            status=SuspectStatus.OPEN,
            draft=FaultDraft(
                title=f"{where}疑似故障停电",
                reason=f"{len(accounts)}户客户报修停电，待现场查明原因",
                region=region,
                area_description=where,
                feeders=[report.feeder] if level == FEEDER else [],
                transformer_areas=[scope] if level == AREA else [],
                starts_at=first,
            ),
            **figures,
        )
        if await self.store.create_suspect(suspect, scope):
            await self.store.announce(region, "suspect", suspect.id, report.at)
            await self.stats.add("suspected", level)
            log.warning("suspected outage", suspect_id=suspect.id, region=region, level=level, scope=scope,
                        accounts=len(accounts), share=suspect.share)  # fmt: skip
        else:
            # Another report tipped it at the same moment: this one joins that suspected outage.
            existing = await self.store.open_suspect_id(region, level, scope)
            if existing is not None:
                await self.store.note_suspect_report(existing, report, report.urgency is Urgency.URGENT)

    # Dispatch: the repair queue

    async def repair_queue(self, caller: ApiKey, status: RepairStatus | None = None) -> list[RepairOrder]:
        require_role(caller.roles, DISPATCH_ROLES, "the repair queue")
        now = self.clock()
        orders = [
            msgspec.structs.replace(o, accept_overdue=o.accept_overdue or accept_overdue(o, now))
            for o in await self.store.repairs(caller.region)
            if status is None or o.status is status
        ]
        return sorted(orders, key=queue_order)

    async def repair(self, repair_id: str, caller: ApiKey) -> RepairOrder:
        require_role(caller.roles, DISPATCH_ROLES, "repair orders")
        order = await self.store.repair(repair_id)
        if order is None or order.region != caller.region:
            raise NotFound(f"no repair order {repair_id} in region {caller.region}")
        return msgspec.structs.replace(
            order, accept_overdue=order.accept_overdue or accept_overdue(order, self.clock())
        )

    async def accept(self, repair_id: str, caller: ApiKey) -> RepairOrder:
        await self.repair(repair_id, caller)
        now = self.clock()

        def accept(order: RepairOrder) -> RepairOrder:
            if order.status is not RepairStatus.OPEN:
                raise Conflict(
                    f"repair order {repair_id} is {order.status.value}, not open", status=order.status.value
                )
            overdue = order.accept_overdue or accept_overdue(order, now)
            return msgspec.structs.replace(
                order,
                status=RepairStatus.ACCEPTED,
                accepted_at=now,
                accepted_by=caller.name,
                accept_overdue=overdue,
            )

        accepted = await self.store.update_repair(repair_id, accept)
        assert accepted is not None
        await self.store.accepted(repair_id)
        await self.stats.add("repairs", "accepted_late" if accepted.accept_overdue else "accepted_in_time")
        await self.store.announce(accepted.region, "repair", repair_id, now)
        return accepted

    async def resolve(self, repair_id: str, resolution: str, caller: ApiKey) -> RepairOrder:
        await self.repair(repair_id, caller)
        now = self.clock()

        def resolve(order: RepairOrder) -> RepairOrder:
            if order.status is RepairStatus.RESOLVED:
                raise Conflict(f"repair order {repair_id} is resolved already", status=order.status.value)
            return msgspec.structs.replace(
                order,
                status=RepairStatus.RESOLVED,
                accepted_at=order.accepted_at or now,
                accepted_by=order.accepted_by or caller.name,
                resolved_at=now,
                resolved_by=caller.name,
                resolution=resolution,
                accept_overdue=order.accept_overdue or accept_overdue(order, now),
            )

        resolved = await self.store.update_repair(repair_id, resolve)
        assert resolved is not None
        await self.store.accepted(repair_id)
        await self.store.close_repair_links(resolved, address_key(resolved.address))
        await self.store.announce(resolved.region, "repair", repair_id, now)
        return resolved

    async def flag_overdue_acceptances(self) -> list[str]:
        """The alarm: open orders the dispatch centre has not accepted within 3 minutes."""
        flagged = []
        for repair_id in await self.store.acceptance_overdue(self.clock()):

            def flag(order: RepairOrder) -> RepairOrder | None:
                if order.status is not RepairStatus.OPEN:
                    return None
                return msgspec.structs.replace(order, accept_overdue=True)

            order = await self.store.update_repair(repair_id, flag)
            if order is not None:
                flagged.append(repair_id)
                await self.stats.add("alarms", "repair_acceptance")
                await self.store.announce(order.region, "repair", repair_id, self.clock())
                log.error("repair order not accepted within 3 minutes", repair_id=repair_id,
                          region=order.region, urgency=order.urgency.value)  # fmt: skip
        return flagged

    # Dispatch: suspected outages

    async def suspects(self, caller: ApiKey, status: SuspectStatus | None = None) -> list[SuspectedOutage]:
        require_role(caller.roles, DISPATCH_ROLES, "suspected outages")
        return [s for s in await self.store.suspects(caller.region) if status is None or s.status is status]

    async def suspect(self, suspect_id: str, caller: ApiKey) -> SuspectedOutage:
        require_role(caller.roles, DISPATCH_ROLES, "suspected outages")
        found = await self.store.suspect(suspect_id)
        if found is None or found.region != caller.region:
            raise NotFound(f"no suspected outage {suspect_id} in region {caller.region}")
        return found

    async def confirm(
        self, suspect_id: str, confirmation: SuspectConfirmation, caller: ApiKey
    ) -> tuple[SuspectedOutage, Outage]:
        """The suspected outage becomes a fault record (pending review, like any submission)."""
        suspect = await self.suspect(suspect_id, caller)
        if suspect.status is not SuspectStatus.OPEN:
            raise Conflict(
                f"suspected outage {suspect_id} is {suspect.status.value}", status=suspect.status.value
            )
        draft = suspect.draft
        starts_at = min(draft.starts_at, confirmation.fault_located_at)
        submission = OutageSubmission(
            external_id=confirmation.external_id or suspect.id,
            kind=OutageKind.FAULT,
            title=confirmation.title or draft.title,
            reason=confirmation.reason or draft.reason,
            region=draft.region,
            area_description=confirmation.area_description or draft.area_description,
            scope=Scope(feeders=draft.feeders, transformer_areas=draft.transformer_areas),
            starts_at=starts_at,
            fault_located_at=confirmation.fault_located_at,
        )
        outage, _ = await self.outages.submit(submission, caller)
        now = self.clock()

        def confirm(s: SuspectedOutage) -> SuspectedOutage:
            if s.status is not SuspectStatus.OPEN:
                raise Conflict(f"suspected outage {suspect_id} is {s.status.value}", status=s.status.value)
            return msgspec.structs.replace(
                s, status=SuspectStatus.CONFIRMED, outage_id=outage.id, decided_by=caller.name, decided_at=now
            )

        confirmed = await self.store.update_suspect(suspect_id, confirm)
        assert confirmed is not None
        await self.store.close_suspect(confirmed, _scope(confirmed))
        await self.store.add_reporters(outage.id, confirmed.report_accounts, published=False)
        await self.store.announce(confirmed.region, "suspect", suspect_id, now)
        await self._tell_reporters(confirmed)
        return confirmed, outage

    async def _tell_reporters(self, suspect: SuspectedOutage) -> None:
        """Each reporter hears at once that their report is a confirmed fault; the notice itself
        follows through the review, like every notice."""
        hotline = self.settings.hotline
        for customer in await self.customers.many(suspect.report_accounts):
            if customer is None:
                continue
            body = (
                f"Your power-cut report is confirmed as a fault and crews are on it. "
                f"We will text you the details. Call {hotline}."
                if customer.language == "en"
                else f"{self.settings.sms_signature}您报修的停电已确认为故障，正在抢修，详细信息将短信通知您。咨询请拨{hotline}。"
            )
            await enqueue_message(
                self.queue, self.settings.queue_name, customer.phone, body, customer.language,
                CONFIRMED_REPORTS, f"{suspect.id}:{customer.account}",
            )  # fmt: skip

    async def dismiss(self, suspect_id: str, reason: str, caller: ApiKey) -> SuspectedOutage:
        await self.suspect(suspect_id, caller)
        now = self.clock()

        def dismiss(s: SuspectedOutage) -> SuspectedOutage:
            if s.status is not SuspectStatus.OPEN:
                raise Conflict(f"suspected outage {suspect_id} is {s.status.value}", status=s.status.value)
            return msgspec.structs.replace(
                s, status=SuspectStatus.DISMISSED, decided_by=caller.name, decided_at=now, dismissal=reason
            )

        dismissed = await self.store.update_suspect(suspect_id, dismiss)
        assert dismissed is not None
        await self.store.close_suspect(dismissed, _scope(dismissed))
        await self.store.announce(dismissed.region, "suspect", suspect_id, now)
        return dismissed

    async def explained_counts(self, outage_ids: list[str]) -> dict[str, int]:
        return await self.store.explained_counts(outage_ids)


def _scope(suspect: SuspectedOutage) -> str:
    return suspect.transformer_area if suspect.level == AREA else suspect.feeder
