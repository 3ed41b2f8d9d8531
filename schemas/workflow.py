"""The review workflow as pure transitions: record and caller in, new record and history out.

Every check happens before anything is built, so a refused request leaves nothing to undo.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import msgspec

from schemas.errors import Conflict, Forbidden, PreconditionFailed, PreconditionRequired, Unprocessable
from schemas.keys import ApiKey
from schemas.kinds import ChangeType, NoticeEvent, OutageKind, Role, Status
from schemas.notices import ORIGINAL_NOTICE, Notice, notice_of
from schemas.outage import (
    Approval,
    Change,
    ChangeRequest,
    HistoryEntry,
    Outage,
    OutageSubmission,
    RejectionRecord,
)
from schemas.rules import (
    LeadTime,
    LeadTimeRefusal,
    Problem,
    change_problems,
    change_takes_effect,
    check_lead_time,
    default_restoration,
    fault_deadline,
    minutes_between,
    minutes_late,
    submission_problems,
    unregistered_account_problems,
)

S = TypeVar("S", bound=msgspec.Struct)
SUBMISSION_FIELDS = tuple(f.name for f in msgspec.structs.fields(OutageSubmission))


class Transition(msgspec.Struct, frozen=True):
    outage: Outage
    history: list[HistoryEntry]
    # The notice this transition published, for the publish job; None if nothing went out.
    published_notice: str | None = None


def _refuse(problems: list[Problem]) -> Unprocessable:
    first = problems[0]
    return Unprocessable(
        f"{first.field}: {first.message}",
        field=first.field,
        rule=first.rule,
        errors=[msgspec.to_builtins(p) for p in problems],
    )


def _refuse_lead_time(refusal: LeadTimeRefusal) -> Unprocessable:
    return Unprocessable(f"starts_at: {refusal.message}", field="starts_at", **msgspec.to_builtins(refusal))


def _require_role(caller: ApiKey, *roles: Role) -> None:
    if not caller.roles.intersection(roles):
        names = " or ".join(r.value for r in roles)
        raise Forbidden(f"this needs the {names} role; key {caller.key_id} has none of them", rule="role")


def check_region(outage: Outage, caller: ApiKey) -> None:
    if outage.region != caller.region:
        raise Forbidden(
            f"outage {outage.id} belongs to region {outage.region}; this key is for {caller.region}",
            rule="region",
        )


def readable_region(caller: ApiKey, region: str | None) -> str:
    """The region a read is about: the key's own, or 403 if another is asked for."""
    if region is not None and region != caller.region:
        raise Forbidden(
            f"region: this key reads region {caller.region}, not {region}", field="region", rule="region"
        )
    return caller.region


def _validated(
    submission: OutageSubmission,
    caller: ApiKey,
    now: datetime,
    lead_times: Mapping[OutageKind, LeadTime],
    clock_skew: timedelta,
    registered_accounts: Collection[str] | None,
) -> OutageSubmission:
    _require_role(caller, Role.SUBMITTER)
    if submission.region != caller.region:
        raise Forbidden(
            f"region: this key submits for region {caller.region}, not {submission.region}",
            field="region",
            rule="region",
        )
    problems = submission_problems(submission, now, clock_skew)
    if registered_accounts is not None:
        problems.extend(unregistered_account_problems(submission, registered_accounts))
    if problems:
        raise _refuse(problems)
    refusal = check_lead_time(submission.kind, submission.starts_at, now, lead_times)
    if refusal is not None:
        raise _refuse_lead_time(refusal)
    if submission.ends_at is None and submission.fault_located_at is not None:
        ends_at = default_restoration(submission.fault_located_at, submission.area_type)
        submission = msgspec.structs.replace(submission, ends_at=ends_at)
    return _in_zone_of(now, submission)


def _in_zone_of(now: datetime, struct: S) -> S:
    """The same instants, written in the deployment's zone (the clock's), whatever offset was sent:
    every answer then shows times as the people reading them live them."""
    times = {
        name: value.astimezone(now.tzinfo)
        for name in struct.__struct_fields__
        if isinstance(value := getattr(struct, name), datetime)
    }
    return msgspec.structs.replace(struct, **times)


def _fields_of(submission: OutageSubmission) -> dict[str, Any]:
    return {name: getattr(submission, name) for name in SUBMISSION_FIELDS}


def submit(
    submission: OutageSubmission,
    caller: ApiKey,
    outage_id: str,
    now: datetime,
    lead_times: Mapping[OutageKind, LeadTime],
    clock_skew: timedelta,
    registered_accounts: Collection[str] | None = None,
) -> Transition:
    """`registered_accounts`: those of the scope's accounts in the caller's region's registry."""
    submission = _validated(submission, caller, now, lead_times, clock_skew, registered_accounts)
    outage = Outage(
        **_fields_of(submission),
        id=outage_id,
        centre=caller.centre,
        status=Status.PENDING_REVIEW,
        submitted_by=caller.actor,
        submitted_at=now,
    )
    entry = HistoryEntry(at=now, action="submitted", by=caller.actor, role=Role.SUBMITTER)
    return Transition(outage, [entry])


def same_submission(outage: Outage, submission: OutageSubmission) -> bool:
    """Whether a re-sent submission is the one already stored (ends_at may have been defaulted)."""
    stored = _fields_of(outage)
    sent = _fields_of(submission)
    if sent["ends_at"] is None and outage.kind is OutageKind.FAULT:
        sent["ends_at"] = stored["ends_at"]
    return stored == sent


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[object]]:
    return {
        name: [msgspec.to_builtins(before[name]), msgspec.to_builtins(after[name])]
        for name in after
        if before.get(name) != after[name]
    }


def revise(
    outage: Outage,
    submission: OutageSubmission,
    caller: ApiKey,
    now: datetime,
    lead_times: Mapping[OutageKind, LeadTime],
    clock_skew: timedelta,
    registered_accounts: Collection[str] | None = None,
) -> Transition:
    check_region(outage, caller)
    _require_role(caller, Role.SUBMITTER)
    if outage.status not in (Status.PENDING_REVIEW, Status.REJECTED):
        raise Conflict(
            f"outage {outage.id} is {outage.status.value}: only a record awaiting review or rejected "
            "can be revised; change a published one with POST /changes",
            rule="revise_unpublished_only",
            status=outage.status.value,
        )
    if submission.external_id != outage.external_id:
        raise Unprocessable(
            f"external_id: a revision keeps the record's external_id {outage.external_id}",
            field="external_id",
            rule="unchanged",
        )
    submission = _validated(submission, caller, now, lead_times, clock_skew, registered_accounts)
    before = _fields_of(outage)
    after = _fields_of(submission)
    revised = msgspec.structs.replace(
        outage,
        **after,
        status=Status.PENDING_REVIEW,
        revision=outage.revision + 1,
        approvals=[],
        rejection=None,
    )
    changed = _diff(before, after)
    if outage.status is not Status.PENDING_REVIEW:
        changed["status"] = [outage.status.value, Status.PENDING_REVIEW.value]
    entry = HistoryEntry(at=now, action="revised", by=caller.actor, role=Role.SUBMITTER, changed=changed)
    return Transition(revised, [entry])


def request_change(
    outage: Outage, request: ChangeRequest, caller: ApiKey, change_id: str, now: datetime
) -> Transition:
    check_region(outage, caller)
    _require_role(caller, Role.SUBMITTER)
    if outage.status is not Status.PUBLISHED:
        hint = {
            Status.PENDING_REVIEW: "it is not published yet: revise it instead",
            Status.REJECTED: "it was rejected: revise and resubmit it instead",
            Status.CANCELLED: "it was cancelled",
            Status.RESTORED: "supply was restored",
        }[outage.status]
        raise Conflict(
            f"outage {outage.id} cannot change: {hint}",
            rule="change_published_only",
            status=outage.status.value,
        )
    pending = outage.pending_change()
    if pending is not None:
        raise Conflict(
            f"outage {outage.id} already has change {pending.id} ({pending.type.value}) awaiting review",
            rule="one_pending_change",
            change_id=pending.id,
        )
    problems = change_problems(outage, request, now)
    if problems:
        raise _refuse(problems)
    request = _in_zone_of(now, request)
    change = Change(
        id=change_id,
        type=request.type,
        reason=request.reason,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        restored_at=request.restored_at,
        submitted_by=caller.actor,
        submitted_at=now,
    )
    updated = msgspec.structs.replace(outage, changes=[*outage.changes, change])
    entry = HistoryEntry(
        at=now,
        action=f"change_submitted:{request.type.value}",
        by=caller.actor,
        role=Role.SUBMITTER,
        change_id=change_id,
        changed={k: [None, v] for k, v in msgspec.to_builtins(request).items() if v is not None},
    )
    return Transition(updated, [entry])


def _required_roles(outage: Outage) -> tuple[Role, ...]:
    # DESIGN 3: nothing about a large-area outage is published without the emergency group.
    return (Role.REVIEWER, Role.EMERGENCY) if outage.large_area else (Role.REVIEWER,)


def missing_roles(outage: Outage) -> list[Role]:
    change = outage.pending_change()
    approvals = change.approvals if change is not None else outage.approvals
    done = {a.role for a in approvals}
    return [r for r in _required_roles(outage) if r not in done]


def _reviewed_notice(outage: Outage) -> tuple[Change | None, list[Approval], str]:
    change = outage.pending_change()
    if change is not None:
        return change, change.approvals, change.submitted_by.key_id
    if outage.status is Status.PENDING_REVIEW:
        return None, outage.approvals, outage.submitted_by.key_id
    raise Conflict(
        f"outage {outage.id} is {outage.status.value} with nothing awaiting review",
        rule="nothing_to_review",
        status=outage.status.value,
    )


def review_version(outage: Outage) -> str:
    """What a reviewer read: the record's revision, and the change awaiting review if there is one.

    It moves when the content under review moves (a revision, a new change), not when another
    reviewer approves, so the emergency group and the reviewer can each approve what they read.
    """
    change = outage.pending_change()
    return f"{outage.revision}.{change.id}" if change is not None else str(outage.revision)


def check_version(outage: Outage, read: Sequence[str]) -> None:
    """A decision binds to the version the reviewer read (If-Match, or `revision` in the body)."""
    current = review_version(outage)
    if not read:
        raise PreconditionRequired(
            f'say which version you reviewed: send If-Match: "{current}" (the ETag of GET '
            f'/api/v1/outages/{outage.id} or of its preview) or "revision": "{current}" in the body',
            field="If-Match",
            rule="version_required",
            current_version=current,
        )
    if current not in read:
        raise PreconditionFailed(
            f"outage {outage.id} changed since it was read (you reviewed {', '.join(read)}, it is now "
            f"{current}): read it again before deciding",
            field="If-Match",
            rule="version_matches",
            current_version=current,
        )


def _check_not_own(caller: ApiKey, submitter_key: str, what: str) -> None:
    if caller.key_id == submitter_key:
        raise Forbidden(f"a notice cannot be {what} with the key that submitted it", rule="four_eyes")


def approve(
    outage: Outage,
    caller: ApiKey,
    now: datetime,
    lead_times: Mapping[OutageKind, LeadTime],
    read: Sequence[str],
) -> Transition:
    """`read`: the versions the reviewer says they read (review_version); one must be current."""
    check_region(outage, caller)
    _require_role(caller, Role.REVIEWER, Role.EMERGENCY)
    change, approvals, submitter_key = _reviewed_notice(outage)
    _check_not_own(caller, submitter_key, "approved")
    if any(a.by.key_id == caller.key_id for a in approvals):
        raise Conflict(f"key {caller.key_id} has already approved this notice", rule="approve_once")
    missing = missing_roles(outage)
    role = next((r for r in missing if r in caller.roles), None)
    if role is None:
        raise Forbidden(
            f"this notice now needs the {missing[0].value} role's approval", rule="role", missing=missing
        )
    check_version(outage, read)
    _check_publishable(outage, change, now, lead_times)
    approval = Approval(by=caller.actor, role=role, at=now)
    publishes = len(missing) == 1
    entry = HistoryEntry(
        at=now,
        action="approved",
        by=caller.actor,
        role=role,
        change_id=change.id if change else None,
        note="published" if publishes else f"awaiting {_other(missing, role).value} approval",
    )
    if change is not None:
        approved = msgspec.structs.replace(change, approvals=[*change.approvals, approval])
        updated = _replace_change(outage, approved)
        if not publishes:
            return Transition(updated, [entry])
        published, changed = apply_change(updated, approved, now)
        entry = msgspec.structs.replace(entry, changed=changed)
        return Transition(published, [entry], published_notice=change.id)
    updated = msgspec.structs.replace(outage, approvals=[*outage.approvals, approval])
    if not publishes:
        return Transition(updated, [entry])
    fields: dict[str, Any] = {"status": Status.PUBLISHED, "published_at": now}
    if outage.kind is OutageKind.FAULT:
        assert outage.fault_located_at is not None
        fields["publication_delay_minutes"] = minutes_between(outage.fault_located_at, now)
        fields["minutes_late"] = minutes_late(fault_deadline(outage.fault_located_at), now)
    published = msgspec.structs.replace(updated, **fields)
    entry = msgspec.structs.replace(
        entry, changed=_diff(_state_of(outage, fields), _state_of(published, fields))
    )
    return Transition(published, [entry], published_notice=ORIGINAL_NOTICE)


def _other(missing: list[Role], role: Role) -> Role:
    return next(r for r in missing if r is not role)


def _state_of(outage: Outage, fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: getattr(outage, name) for name in fields}


def _check_publishable(
    outage: Outage, change: Change | None, now: datetime, lead_times: Mapping[OutageKind, LeadTime]
) -> None:
    """Review may have taken too long: the rules are checked again at approval."""
    if change is None:
        refusal = check_lead_time(outage.kind, outage.starts_at, now, lead_times)
        if refusal is not None:
            raise _refuse_lead_time(refusal)
        return
    if change.type in (ChangeType.POSTPONE, ChangeType.CANCEL) and now >= outage.starts_at:
        raise Unprocessable(
            f"type: the outage started at {outage.starts_at.isoformat()} before this {change.type.value} "
            "was approved; a change must be published before it takes effect: reject it",
            field="type",
            rule="before_start",
        )


def _replace_change(outage: Outage, change: Change) -> Outage:
    return msgspec.structs.replace(
        outage, changes=[change if c.id == change.id else c for c in outage.changes]
    )


def apply_change(outage: Outage, change: Change, now: datetime) -> tuple[Outage, dict[str, list[object]]]:
    effect = change_takes_effect(outage, change.type, change.submitted_at)
    late = minutes_late(effect, now) if change.type is ChangeType.DELAY_RESTORATION else None
    published_change = msgspec.structs.replace(
        change,
        status=Status.PUBLISHED,
        published_at=now,
        minutes_late=late or None,
        previous_starts_at=outage.starts_at,
        previous_ends_at=outage.ends_at,
    )
    fields: dict[str, Any] = {}
    if change.type is ChangeType.POSTPONE:
        assert change.starts_at is not None
        fields["starts_at"] = change.starts_at
        if change.ends_at is not None:
            fields["ends_at"] = change.ends_at
        else:
            assert outage.ends_at is not None
            # Same duration, later: what customers would assume from "postponed".
            fields["ends_at"] = outage.ends_at + (change.starts_at - outage.starts_at)
    elif change.type is ChangeType.CANCEL:
        fields["status"] = Status.CANCELLED
    elif change.type is ChangeType.DELAY_RESTORATION:
        fields["ends_at"] = change.ends_at
    else:
        fields["status"] = Status.RESTORED
        fields["restored_at"] = change.restored_at or now
    updated = msgspec.structs.replace(_replace_change(outage, published_change), **fields)
    return updated, _diff(_state_of(outage, fields), fields)


def reject(outage: Outage, caller: ApiKey, reason: str, now: datetime, read: Sequence[str]) -> Transition:
    check_region(outage, caller)
    _require_role(caller, Role.REVIEWER, Role.EMERGENCY)
    if not reason.strip():
        raise _refuse([Problem("reason", "not_blank", "a rejection must state its reason")])
    change, _, submitter_key = _reviewed_notice(outage)
    _check_not_own(caller, submitter_key, "rejected")
    check_version(outage, read)
    role = Role.REVIEWER if Role.REVIEWER in caller.roles else Role.EMERGENCY
    rejection = RejectionRecord(by=caller.actor, at=now, reason=reason.strip())
    if change is not None:
        rejected_change = msgspec.structs.replace(change, status=Status.REJECTED, rejection=rejection)
        updated = _replace_change(outage, rejected_change)
        changed: dict[str, list[object]] = {"change_status": ["pending_review", "rejected"]}
    else:
        updated = msgspec.structs.replace(outage, status=Status.REJECTED, rejection=rejection)
        changed = {"status": ["pending_review", "rejected"]}
    entry = HistoryEntry(
        at=now,
        action="rejected",
        by=caller.actor,
        role=role,
        change_id=change.id if change else None,
        changed=changed,
        note=reason.strip(),
    )
    return Transition(updated, [entry])


def preview_notice(outage: Outage, now: datetime) -> Notice:
    """The notice that approving now would publish (the record, or its pending change)."""
    change = outage.pending_change()
    if change is None:
        if outage.status is not Status.PENDING_REVIEW:
            raise Conflict(f"outage {outage.id} has nothing awaiting review", rule="nothing_to_review")
        return Notice(id=ORIGINAL_NOTICE, event=NoticeEvent.NEW, published_at=now, outage=outage)
    applied, _ = apply_change(outage, change, now)
    return notice_of(applied, change.id)
