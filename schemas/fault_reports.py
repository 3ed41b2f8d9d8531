"""Customers' fault reports, the repair orders they open and the suspected outages they add up to,
as types and pure rules (a clock is passed in; no I/O).

The clocks are the 95598 repair rules (seed 002, 附件2): a repair order is dispatched within 2
minutes after the caller hangs up and received by the city dispatch centre within 3 minutes;
hazards and important customers are urgent (三).
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

import msgspec

from schemas.errors import Forbidden
from schemas.kinds import Role
from schemas.outage import Input

DISPATCH_WITHIN = timedelta(minutes=2)
ACCEPT_WITHIN = timedelta(minutes=3)


class Symptom(StrEnum):
    NO_POWER = "no_power"
    PARTIAL = "partial"
    VOLTAGE = "voltage"
    # Wires down, fire, danger to people.
    HAZARD = "hazard"


class ReportChannel(StrEnum):
    IVR = "ivr"
    SMS = "sms"
    WEB = "web"
    # A 95598 agent or another system, through the API.
    AGENT = "agent"


class Urgency(StrEnum):
    URGENT = "urgent"
    GENERAL = "general"


class ReportOutcome(StrEnum):
    # A published outage covers the reporter: they were told what, why and until when.
    EXPLAINED = "explained"
    # Nothing published covers it: a repair order has it.
    REPAIR = "repair"


class RepairStatus(StrEnum):
    # In the region's queue (dispatched the moment it is created).
    OPEN = "open"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"


class SuspectStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


Account = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[A-Za-z0-9._:-]*$")]
PhoneText = Annotated[str, msgspec.Meta(max_length=32)]
Description = Annotated[str, msgspec.Meta(max_length=500)]


class ReportSubmission(Input):
    """A report as a person or a system sends it: who (an account, or a registered phone), what."""

    account: Account = ""
    phone: PhoneText = ""
    symptom: Symptom = Symptom.NO_POWER
    description: Description = ""


class FaultReport(msgspec.Struct, kw_only=True):
    id: str
    region: str
    account: str
    # E.164; "" when the report came with an account only.
    phone: str
    channel: ReportChannel
    at: datetime
    symptom: Symptom
    description: str
    urgency: Urgency
    outcome: ReportOutcome
    # The outage that explains it, or the repair order that has it.
    outage_id: str | None = None
    repair_id: str | None = None
    feeder: str = ""
    transformer_area: str = ""
    # Power still out after its outage was restored (a nested outage): front of the queue.
    after_restoration: bool = False


class RepairOrder(msgspec.Struct, kw_only=True):
    id: str
    region: str
    account: str
    phone: str
    feeder: str
    transformer_area: str
    address: str
    symptom: Symptom
    urgency: Urgency
    status: RepairStatus
    created_at: datetime
    # Handed to the region's queue: at creation, so the 2-minute clock is met by construction.
    dispatched_at: datetime
    accepted_at: datetime | None = None
    accepted_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str = ""
    reports: list[str] = []
    after_restoration: bool = False
    # Set once the acceptance clock ran out while it was still open (the alarm fired).
    accept_overdue: bool = False
    # A published stoppage of the account's own (arrears, violation) the reporter could not be
    # told of (not vouched for): dispatch sees it and need not send a crew.
    covered_by: str | None = None


class FaultDraft(msgspec.Struct, kw_only=True):
    """A fault record ready to submit: what a confirmation turns a suspected outage into."""

    kind: str = "fault"
    title: str
    reason: str
    region: str
    area_description: str
    feeders: list[str]
    transformer_areas: list[str]
    starts_at: datetime


class SuspectedOutage(msgspec.Struct, kw_only=True):
    id: str
    region: str
    # "transformer_area" or "feeder": what the reports point at.
    level: str
    feeder: str
    transformer_area: str
    status: SuspectStatus
    accounts: int
    reports: int
    urgent: int
    first_report_at: datetime
    last_report_at: datetime
    # Accounts the registry has in the scope, and the share of them who reported.
    customers: int
    share: float
    draft: FaultDraft
    outage_id: str | None = None
    # The accounts that reported: told when it is confirmed, and of the outage's notices.
    report_accounts: list[str] = []
    decided_by: str | None = None
    decided_at: datetime | None = None
    dismissal: str = ""


class RepairResolution(Input):
    resolution: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class SuspectConfirmation(Input):
    """What dispatch knows when confirming: the fault's location time is theirs to set."""

    fault_located_at: Annotated[datetime, msgspec.Meta(tz=True)]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)] | None = None
    area_description: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)] | None = None
    external_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")] | None = None  # fmt: skip


class SuspectDismissal(Input):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


def urgency_of(symptom: Symptom, important: bool) -> Urgency:
    """Hazards and important customers are urgent (seed 002 三); everything else general."""
    return Urgency.URGENT if symptom is Symptom.HAZARD or important else Urgency.GENERAL


def accept_due(order: RepairOrder) -> datetime:
    return order.dispatched_at + ACCEPT_WITHIN


def accept_overdue(order: RepairOrder, now: datetime) -> bool:
    """Still not accepted by the dispatch centre when its 3 minutes are up."""
    return order.status is RepairStatus.OPEN and now >= accept_due(order)


def queue_order(order: RepairOrder) -> tuple[int, int, datetime]:
    """The repair queue's order: power still out after a restoration first, then urgent, then oldest."""
    return (
        0 if order.after_restoration else 1,
        0 if order.urgency is Urgency.URGENT else 1,
        order.created_at,
    )


def suspected_area(distinct_accounts: int, threshold: int) -> bool:
    """Reports from this many distinct accounts of one transformer area within the window."""
    return distinct_accounts >= threshold


def suspected_feeder(areas_reporting: int, threshold: int) -> bool:
    """Reports spanning this many transformer areas of one feeder within the window."""
    return areas_reporting >= threshold


def share_of(reporting: int, customers: int) -> float:
    return 0.0 if customers <= 0 else round(min(1.0, reporting / customers), 4)


# Who may do what: agents (95598, partner systems) file reports; a dispatch centre's keys work
# its repair queue and suspected outages (confirming one also submits a record: submitter role).
REPORTING_ROLES = frozenset({Role.AGENT})
DISPATCH_ROLES = frozenset({Role.SUBMITTER, Role.REVIEWER, Role.EMERGENCY})


def require_role(roles: frozenset[Role], allowed: frozenset[Role], action: str) -> None:
    if not roles & allowed:
        names = " or ".join(sorted(r.value for r in allowed))
        raise Forbidden(f"{action} needs the {names} role", field="Authorization", rule="role")
