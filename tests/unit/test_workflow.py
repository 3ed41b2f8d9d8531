"""The review workflow's transitions at their boundaries, as plain values: no Redis, no HTTP."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from schemas.errors import Forbidden, PreconditionFailed, PreconditionRequired, Unprocessable
from schemas.keys import ApiKey
from schemas.kinds import ChangeType, OutageKind, Role, Status
from schemas.outage import ChangeRequest, Outage, OutageSubmission, Scope
from schemas.rules import CONFIGURABLE_LEAD_TIMES, FIXED_LEAD_TIMES
from schemas.workflow import approve, request_change, review_version, revise, submit

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZONE)
LEAD_TIMES = {**FIXED_LEAD_TIMES, **CONFIGURABLE_LEAD_TIMES}
SKEW = timedelta(seconds=60)


def _key(name: str, *roles: Role) -> ApiKey:
    return ApiKey(key_id=name, name=name, centre="c", region="310115", roles=frozenset(roles),
                  created_at=NOW, secret_sha256="x")  # fmt: skip


SUBMITTER, REVIEWER, EMERGENCY = (
    _key("s", Role.SUBMITTER),
    _key("r", Role.REVIEWER),
    _key("e", Role.EMERGENCY),
)


def _submission(
    kind: OutageKind = OutageKind.PLANNED, lead: timedelta = timedelta(days=8), **fields: object
) -> OutageSubmission:
    accounts = kind in (OutageKind.ARREARS, OutageKind.THEFT, OutageKind.VIOLATION)
    base: dict[str, object] = {
        "external_id": "X", "kind": kind, "title": "T", "reason": "R", "region": "310115",
        "area_description": "A", "scope": Scope(accounts=["A1"]) if accounts else Scope(feeders=["F1"]),
        "starts_at": NOW + lead, "ends_at": NOW + lead + timedelta(hours=8),
    }  # fmt: skip
    return OutageSubmission(**{**base, **fields})  # type: ignore[arg-type]


def _pending(**fields: object) -> Outage:
    return submit(_submission(**fields), SUBMITTER, "OUT-1", NOW, LEAD_TIMES, SKEW, frozenset({"A1"})).outage  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "lead", "refused_by"),
    [
        (OutageKind.PLANNED, timedelta(days=7), None),
        (OutageKind.PLANNED, timedelta(days=7) - timedelta(seconds=1), "lead_time.planned.minimum"),
        (OutageKind.TEMPORARY, timedelta(hours=24), None),
        (OutageKind.TEMPORARY, timedelta(hours=24) - timedelta(seconds=1), "lead_time.temporary.minimum"),
        (OutageKind.ARREARS, timedelta(days=3), None),
        (OutageKind.ARREARS, timedelta(days=7), None),
        (OutageKind.ARREARS, timedelta(days=3) - timedelta(seconds=1), "lead_time.arrears.minimum"),
        (OutageKind.ARREARS, timedelta(days=7) + timedelta(seconds=1), "lead_time.arrears.maximum"),
        (OutageKind.THEFT, timedelta(seconds=1), None),
    ],
)
def test_lead_times_at_their_edges(kind: OutageKind, lead: timedelta, refused_by: str | None) -> None:
    submission = _submission(kind, lead)
    if refused_by is None:
        assert (
            submit(submission, SUBMITTER, "OUT-1", NOW, LEAD_TIMES, SKEW, frozenset({"A1"})).outage.status
            is Status.PENDING_REVIEW
        )
        return
    with pytest.raises(Unprocessable) as refused:
        submit(submission, SUBMITTER, "OUT-1", NOW, LEAD_TIMES, SKEW, frozenset({"A1"}))
    assert refused.value.extra["rule"] == refused_by


@pytest.mark.parametrize(("review_minutes", "late"), [(20, 0.0), (20 + 1 / 60, 0.02), (35, 15.0)])
def test_a_fault_is_never_refused_and_its_minutes_late_start_at_twenty(
    review_minutes: float, late: float
) -> None:
    located = NOW - timedelta(minutes=1)
    fault = _pending(kind=OutageKind.FAULT, starts_at=located - timedelta(minutes=5), ends_at=None,
                     fault_located_at=located)  # fmt: skip
    approved = approve(fault, REVIEWER, located + timedelta(minutes=review_minutes), LEAD_TIMES, ["1"]).outage
    assert (approved.status, approved.minutes_late) == (Status.PUBLISHED, late)


@pytest.mark.parametrize(
    ("read", "outcome"),
    [(["1"], None), (["2"], PreconditionFailed), ([], PreconditionRequired), (['W/"1"'], PreconditionFailed)],
)
def test_an_approval_binds_to_the_version_read(read: list[str], outcome: type[Exception] | None) -> None:
    outage = _pending()
    if outcome is None:
        assert approve(outage, REVIEWER, NOW, LEAD_TIMES, read).outage.status is Status.PUBLISHED
    else:
        with pytest.raises(outcome):
            approve(outage, REVIEWER, NOW, LEAD_TIMES, read)


def test_a_revision_moves_the_version_and_another_reviewers_approval_does_not() -> None:
    outage = _pending(large_area=True)
    assert review_version(outage) == "1"
    half = approve(outage, REVIEWER, NOW, LEAD_TIMES, ["1"]).outage
    assert review_version(half) == "1" and half.status is Status.PENDING_REVIEW
    assert approve(half, EMERGENCY, NOW, LEAD_TIMES, ["1"]).outage.status is Status.PUBLISHED
    revised = revise(outage, _submission(title="T2"), SUBMITTER, NOW, LEAD_TIMES, SKEW).outage
    assert review_version(revised) == "2"


def test_nobody_approves_their_own_notice() -> None:
    both = _key("sr", Role.SUBMITTER, Role.REVIEWER)
    outage = submit(_submission(), both, "OUT-1", NOW, LEAD_TIMES, SKEW).outage
    with pytest.raises(Forbidden):
        approve(outage, both, NOW, LEAD_TIMES, ["1"])


@pytest.mark.parametrize(
    ("restored_at", "minutes_after_start", "refused"),
    [(None, -1, True), (None, 0, False), ("start-1s", 10, True), ("start", 10, False)],
)
def test_restored_is_never_before_the_start(
    restored_at: str | None, minutes_after_start: int, refused: bool
) -> None:
    published = approve(_pending(lead=timedelta(days=8)), REVIEWER, NOW, LEAD_TIMES, ["1"]).outage
    start = published.starts_at
    at = start + timedelta(minutes=minutes_after_start)
    given = {None: None, "start-1s": start - timedelta(seconds=1), "start": start}[restored_at]
    request = ChangeRequest(type=ChangeType.RESTORED, reason="done", restored_at=given)
    if refused:
        with pytest.raises(Unprocessable) as refusal:
            request_change(published, request, SUBMITTER, "c1", at)
        assert refusal.value.extra["rule"] == "after_starts_at"
    else:
        assert request_change(published, request, SUBMITTER, "c1", at).outage.pending_change() is not None


def test_times_are_stored_in_the_deployment_zone_whatever_offset_was_sent() -> None:
    sent = _submission(starts_at=(NOW + timedelta(days=8)).astimezone(UTC))
    stored = submit(sent, SUBMITTER, "OUT-1", NOW, LEAD_TIMES, SKEW).outage
    assert stored.starts_at.utcoffset() == timedelta(hours=8)
    assert stored.starts_at == sent.starts_at
    assert msgspec.json.encode(stored.starts_at).decode().endswith('+08:00"')
