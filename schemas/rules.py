"""Publication rules of the 95598 service standard. Pure: plain values in, the clock passed in."""

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Final

import msgspec

from schemas.kinds import ACCOUNT_KINDS, AreaType, ChangeType, OutageKind, Status
from schemas.outage import ChangeRequest, Outage, OutageSubmission

FAULT_PUBLICATION_WINDOW: Final = timedelta(minutes=20)


class LeadTime(msgspec.Struct, frozen=True):
    minimum: timedelta
    # Arrears and violation stoppages must not be announced too early either (3 to 7 days).
    maximum: timedelta | None = None


# planned, temporary, arrears and violation are fixed by the rules; the rest are settings.
FIXED_LEAD_TIMES: Final[Mapping[OutageKind, LeadTime]] = {
    OutageKind.PLANNED: LeadTime(timedelta(days=7)),
    OutageKind.TEMPORARY: LeadTime(timedelta(hours=24)),
    OutageKind.ARREARS: LeadTime(timedelta(days=3), timedelta(days=7)),
    OutageKind.VIOLATION: LeadTime(timedelta(days=3), timedelta(days=7)),
}
CONFIGURABLE_LEAD_TIMES: Final[Mapping[OutageKind, LeadTime]] = {
    OutageKind.OTHER: LeadTime(timedelta(hours=24)),
    OutageKind.ORDERLY_USE: LeadTime(timedelta(hours=24)),
    # Emergency curtailment and theft stoppage cannot be announced ahead.
    OutageKind.OVER_CAPACITY: LeadTime(timedelta(0)),
    OutageKind.THEFT: LeadTime(timedelta(0)),
}

# DESIGN section 4: crew arrival plus average repair, the default expected restoration of a fault.
RESTORATION_TARGETS: Final[Mapping[AreaType, timedelta]] = {
    AreaType.URBAN: timedelta(minutes=45) + timedelta(hours=3),
    AreaType.RURAL: timedelta(minutes=90) + timedelta(hours=4),
    AreaType.REMOTE: timedelta(hours=2) + timedelta(hours=4),
}


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with a request, naming the field and the rule it breaks."""

    field: str
    rule: str
    message: str


class LeadTimeRefusal(msgspec.Struct, frozen=True):
    rule: str
    message: str
    kind: OutageKind
    starts_at: datetime
    required_lead_hours: float
    # Latest instant at which publication would have complied.
    publish_by: datetime | None
    # For a too-early notice: the earliest instant it may be published.
    publish_not_before: datetime | None
    earliest_compliant_start: datetime | None
    latest_compliant_start: datetime | None
    suggested_kind: OutageKind | None


def _ceil_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _describe_lead(delta: timedelta) -> str:
    if delta % timedelta(days=1) == timedelta(0) and delta >= timedelta(days=2):
        return f"{delta.days} days"
    if delta % timedelta(hours=1) == timedelta(0):
        return f"{_hours(delta):g} hours"
    return f"{delta.total_seconds() / 60:g} minutes"


def _local(moment: datetime, now: datetime) -> str:
    """A time for a message, in the zone of the service clock (the deployment's)."""
    return moment.astimezone(now.tzinfo).isoformat()


def check_lead_time(
    kind: OutageKind,
    starts_at: datetime,
    now: datetime,
    lead_times: Mapping[OutageKind, LeadTime],
) -> LeadTimeRefusal | None:
    """Refusal if publishing at `now` breaks the kind's lead time; faults are never refused."""
    if kind is OutageKind.FAULT:
        return None
    lead = lead_times[kind]
    notice = starts_at - now
    if notice >= lead.minimum and (lead.maximum is None or notice <= lead.maximum):
        return None
    if notice < lead.minimum:
        suggested = None
        if kind is OutageKind.PLANNED and notice >= lead_times[OutageKind.TEMPORARY].minimum:
            suggested = OutageKind.TEMPORARY
        earliest = _ceil_minute(now + lead.minimum)
        message = (
            f"{kind.value} outages must be published at least {_describe_lead(lead.minimum)} before "
            f"they start: publication was due by {_local(starts_at - lead.minimum, now)}; "
            f"the earliest start that complies is {_local(earliest, now)}"
        )
        if suggested is not None:
            message += f", or submit it as {suggested.value}, which needs "
            message += f"{_describe_lead(lead_times[suggested].minimum)}"
        return LeadTimeRefusal(
            rule=f"lead_time.{kind.value}.minimum",
            message=message,
            kind=kind,
            starts_at=starts_at,
            required_lead_hours=_hours(lead.minimum),
            publish_by=starts_at - lead.minimum,
            publish_not_before=None,
            earliest_compliant_start=earliest,
            latest_compliant_start=None,
            suggested_kind=suggested,
        )
    assert lead.maximum is not None
    latest = (now + lead.maximum).replace(second=0, microsecond=0)
    return LeadTimeRefusal(
        rule=f"lead_time.{kind.value}.maximum",
        message=(
            f"{kind.value} notices must reach the customer at most {_describe_lead(lead.maximum)} "
            f"before the stop: publish it from {_local(starts_at - lead.maximum, now)}, "
            f"or start no later than {_local(latest, now)}"
        ),
        kind=kind,
        starts_at=starts_at,
        required_lead_hours=_hours(lead.minimum),
        publish_by=starts_at - lead.minimum,
        publish_not_before=starts_at - lead.maximum,
        earliest_compliant_start=None,
        latest_compliant_start=latest,
        suggested_kind=None,
    )


def fault_deadline(fault_located_at: datetime) -> datetime:
    return fault_located_at + FAULT_PUBLICATION_WINDOW


def minutes_between(earlier: datetime, later: datetime) -> float:
    return round((later - earlier).total_seconds() / 60, 2)


def minutes_late(deadline: datetime, published_at: datetime) -> float:
    return max(0.0, minutes_between(deadline, published_at))


def default_restoration(fault_located_at: datetime, area_type: AreaType) -> datetime:
    return fault_located_at + RESTORATION_TARGETS[area_type]


def review_deadline(outage: Outage, lead_times: Mapping[OutageKind, LeadTime]) -> datetime:
    """The instant by which the notice awaiting review must be published."""
    change = outage.pending_change()
    if change is not None:
        return change_takes_effect(outage, change.type, change.submitted_at)
    if outage.kind is OutageKind.FAULT:
        assert outage.fault_located_at is not None
        return fault_deadline(outage.fault_located_at)
    return outage.starts_at - lead_times[outage.kind].minimum


def change_takes_effect(outage: Outage, change_type: ChangeType, submitted_at: datetime) -> datetime:
    if change_type in (ChangeType.POSTPONE, ChangeType.CANCEL):
        return outage.starts_at
    if change_type is ChangeType.DELAY_RESTORATION:
        assert outage.ends_at is not None
        return outage.ends_at
    # A restoration notice has no legal deadline; the sooner customers hear it the better.
    return submitted_at


def minutes_left(deadline: datetime, now: datetime) -> float:
    return round((deadline - now).total_seconds() / 60, 1)


def _blank(field: str, value: str) -> Problem | None:
    if value.strip():
        return None
    return Problem(field, "not_blank", f"{field} must not be blank")


def submission_problems(submission: OutageSubmission, now: datetime, clock_skew: timedelta) -> list[Problem]:
    """Everything wrong with a submission beyond its types, except the lead time."""
    problems = [
        p
        for p in (
            _blank("title", submission.title),
            _blank("reason", submission.reason),
            _blank("area_description", submission.area_description),
        )
        if p is not None
    ]
    scope = submission.scope
    is_fault = submission.kind is OutageKind.FAULT
    if scope.is_empty():
        problems.append(
            Problem("scope", "not_empty", "scope must name at least one feeder, transformer area or account")
        )
    elif submission.kind in ACCOUNT_KINDS:
        if not scope.accounts:
            problems.append(
                Problem(
                    "scope.accounts",
                    "required_for_kind",
                    f"{submission.kind.value} stoppages are addressed to named accounts: list them",
                )
            )
        if scope.feeders or scope.transformer_areas:
            problems.append(
                Problem(
                    "scope",
                    "accounts_only",
                    f"{submission.kind.value} stoppages concern the named accounts only: "
                    "leave feeders and transformer_areas empty",
                )
            )
    if submission.ends_at is None:
        if not is_fault:
            problems.append(Problem("ends_at", "required", "ends_at (expected restoration) is required"))
    elif submission.ends_at <= submission.starts_at:
        problems.append(Problem("ends_at", "after_starts_at", "ends_at must be after starts_at"))
    if submission.polygon is not None:
        problems.extend(polygon_problems(submission.polygon))
    latest_plausible = now + clock_skew
    if is_fault:
        if submission.fault_located_at is None:
            problems.append(
                Problem("fault_located_at", "required", "fault_located_at is required for a fault")
            )
        elif submission.fault_located_at > latest_plausible:
            problems.append(
                Problem("fault_located_at", "not_in_future", "fault_located_at must not be in the future")
            )
        elif submission.fault_located_at < submission.starts_at:
            problems.append(
                Problem(
                    "fault_located_at",
                    "after_starts_at",
                    "a fault is located after it starts: fault_located_at is before starts_at",
                )
            )
        elif submission.ends_at is not None and submission.ends_at <= submission.fault_located_at:
            problems.append(
                Problem(
                    "ends_at",
                    "after_fault_located_at",
                    "the expected restoration must be after the fault was located",
                )
            )
        if submission.starts_at > latest_plausible:
            problems.append(
                Problem(
                    "starts_at", "not_in_future", "a fault has already happened: starts_at is in the future"
                )
            )
    elif submission.fault_located_at is not None:
        problems.append(Problem("fault_located_at", "fault_only", "fault_located_at is only for kind fault"))
    return problems


def unregistered_account_problems(
    submission: OutageSubmission, registered_accounts: Collection[str]
) -> list[Problem]:
    """An arrears, theft or violation notice concerns a customer the utility knows: one in the registry."""
    if submission.kind not in ACCOUNT_KINDS:
        return []
    unknown = [a for a in submission.scope.accounts if a not in registered_accounts]
    if not unknown:
        return []
    return [
        Problem(
            "scope.accounts",
            "in_registry",
            f"account(s) {', '.join(unknown[:10])} are not in region {submission.region}'s customer "
            "registry: import the customer first",
        )
    ]


def polygon_problems(points: list[tuple[float, float]]) -> list[Problem]:
    if len(points) < 4 or points[0] != points[-1]:
        return [
            Problem("polygon", "closed_ring", "polygon needs at least 4 points and must end where it starts")
        ]
    if any(not (-90 <= lat <= 90 and -180 <= lon <= 180) for lat, lon in points):
        return [Problem("polygon", "coordinates", "polygon points are [latitude, longitude] in degrees")]
    return []


def change_problems(outage: Outage, change: ChangeRequest, now: datetime) -> list[Problem]:
    """Whether a change can be made to a published outage at `now`."""
    problems: list[Problem] = []
    blank = _blank("reason", change.reason)
    if blank is not None:
        problems.append(blank)
    allowed = {
        ChangeType.POSTPONE: {"starts_at", "ends_at"},
        ChangeType.CANCEL: set(),
        ChangeType.DELAY_RESTORATION: {"ends_at"},
        ChangeType.RESTORED: {"restored_at"},
    }[change.type]
    for name in ("starts_at", "ends_at", "restored_at"):
        if getattr(change, name) is not None and name not in allowed:
            problems.append(
                Problem(name, "not_for_change_type", f"{name} does not apply to {change.type.value}")
            )
    if change.type in (ChangeType.POSTPONE, ChangeType.CANCEL) and now >= outage.starts_at:
        problems.append(
            Problem(
                "type",
                "before_start",
                f"a {change.type.value} must be published before the outage starts "
                f"({outage.starts_at.isoformat()}); it has started: mark it restored or delay "
                "the restoration instead",
            )
        )
    if change.type is ChangeType.POSTPONE:
        if change.starts_at is None:
            problems.append(Problem("starts_at", "required", "a postponement needs the new starts_at"))
        elif change.starts_at <= outage.starts_at:
            problems.append(
                Problem(
                    "starts_at",
                    "later_than_published",
                    "a postponement moves the start later; an earlier start needs a new outage record",
                )
            )
        # Without a new ends_at the announced duration moves with the start, so only a given one can clash.
        new_start = change.starts_at or outage.starts_at
        if change.ends_at is not None and change.ends_at <= new_start:
            problems.append(Problem("ends_at", "after_starts_at", "ends_at must be after the new starts_at"))
    if change.type is ChangeType.DELAY_RESTORATION:
        if change.ends_at is None:
            problems.append(Problem("ends_at", "required", "a restoration delay needs the new ends_at"))
        elif outage.ends_at is not None and change.ends_at <= outage.ends_at:
            problems.append(
                Problem(
                    "ends_at", "later_than_published", "the new ends_at must be later than the published one"
                )
            )
    if change.type is ChangeType.RESTORED:
        # Left out, restored_at is the approval time: checked as if given now.
        restored_at = change.restored_at or now
        field = "restored_at" if change.restored_at is not None else "type"
        if restored_at > now:
            problems.append(Problem("restored_at", "not_in_future", "restored_at must not be in the future"))
        elif restored_at < outage.starts_at:
            problems.append(
                Problem(
                    field,
                    "after_starts_at",
                    f"supply cannot be restored before the outage starts ({outage.starts_at.isoformat()}); "
                    "to call the outage off, submit a cancel",
                )
            )
    return problems


def lead_time_description(lead_times: Mapping[OutageKind, LeadTime]) -> dict[str, str]:
    out = {OutageKind.FAULT.value: f"published within {_describe_lead(FAULT_PUBLICATION_WINDOW)}"}
    for kind, lead in lead_times.items():
        text = f"at least {_describe_lead(lead.minimum)} ahead"
        if lead.maximum is not None:
            text += f", at most {_describe_lead(lead.maximum)}"
        out[kind.value] = text
    return out


def is_active(outage: Outage, at: datetime) -> bool:
    """Whether customers are (expected to be) without supply at `at`, as published or submitted."""
    if outage.status in (Status.CANCELLED, Status.REJECTED):
        return False
    end = outage.restored_at or outage.ends_at
    return outage.starts_at <= at and (end is None or at < end)
