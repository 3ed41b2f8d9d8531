"""The publication rules as pure functions: exact boundaries, refusals, suggestions."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.kinds import AreaType, OutageKind
from schemas.outage import OutageSubmission, Scope
from schemas.rules import (
    check_lead_time,
    default_restoration,
    fault_deadline,
    minutes_late,
    submission_problems,
)
from schemas.settings import Settings, SettingsError, settings_from_env

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LEAD_TIMES = Settings().lead_times
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("kind", "lead"),
    [(OutageKind.PLANNED, timedelta(days=7)), (OutageKind.TEMPORARY, timedelta(hours=24))],
)
def test_lead_time_exactly_met_passes_and_one_second_short_fails(kind: OutageKind, lead: timedelta) -> None:
    assert check_lead_time(kind, NOW + lead, NOW, LEAD_TIMES) is None
    refusal = check_lead_time(kind, NOW + lead - SECOND, NOW, LEAD_TIMES)
    assert refusal is not None
    assert refusal.rule == f"lead_time.{kind.value}.minimum"
    assert refusal.publish_by == NOW - SECOND
    assert refusal.earliest_compliant_start == NOW + lead


def test_planned_three_days_out_suggests_temporary_and_earliest_planned_start() -> None:
    starts = NOW + timedelta(days=3)
    refusal = check_lead_time(OutageKind.PLANNED, starts, NOW, LEAD_TIMES)
    assert refusal is not None
    assert refusal.suggested_kind is OutageKind.TEMPORARY
    assert refusal.earliest_compliant_start == NOW + timedelta(days=7)
    assert refusal.publish_by == starts - timedelta(days=7)
    assert "7 days" in refusal.message
    assert "temporary" in refusal.message


def test_planned_twelve_hours_out_suggests_no_kind() -> None:
    refusal = check_lead_time(OutageKind.PLANNED, NOW + timedelta(hours=12), NOW, LEAD_TIMES)
    assert refusal is not None
    assert refusal.suggested_kind is None


def test_earliest_compliant_start_rounds_up_to_the_minute() -> None:
    now = NOW + timedelta(seconds=17)
    refusal = check_lead_time(OutageKind.TEMPORARY, now, now, LEAD_TIMES)
    assert refusal is not None
    assert refusal.earliest_compliant_start == NOW + timedelta(days=1, minutes=1)


def test_fault_is_never_refused_for_lateness() -> None:
    assert check_lead_time(OutageKind.FAULT, NOW - timedelta(days=1), NOW, LEAD_TIMES) is None


def test_fault_twenty_minutes_exactly_is_on_time_and_one_second_more_is_late() -> None:
    located = NOW - timedelta(minutes=20)
    assert minutes_late(fault_deadline(located), NOW) == 0
    assert minutes_late(fault_deadline(located), NOW + SECOND) == pytest.approx(1 / 60, abs=0.01)
    assert minutes_late(fault_deadline(located), NOW + timedelta(minutes=7)) == 7


@pytest.mark.parametrize("kind", [OutageKind.ARREARS, OutageKind.VIOLATION])
def test_arrears_and_violation_notice_three_to_seven_days(kind: OutageKind) -> None:
    assert check_lead_time(kind, NOW + timedelta(days=3), NOW, LEAD_TIMES) is None
    assert check_lead_time(kind, NOW + timedelta(days=7), NOW, LEAD_TIMES) is None
    too_late = check_lead_time(kind, NOW + timedelta(days=3) - SECOND, NOW, LEAD_TIMES)
    assert too_late is not None and too_late.rule.endswith("minimum")
    too_early = check_lead_time(kind, NOW + timedelta(days=7) + SECOND, NOW, LEAD_TIMES)
    assert too_early is not None and too_early.rule.endswith("maximum")
    assert too_early.publish_not_before == NOW + SECOND


def test_configurable_lead_times_come_from_the_environment() -> None:
    settings = settings_from_env({"LEAD_TIME_OTHER": "48h", "LEAD_TIME_THEFT": "0"})
    assert settings.lead_times[OutageKind.OTHER].minimum == timedelta(hours=48)
    assert settings.lead_times[OutageKind.ORDERLY_USE].minimum == timedelta(hours=24)
    assert check_lead_time(OutageKind.OTHER, NOW + timedelta(hours=47), NOW, settings.lead_times) is not None
    with pytest.raises(SettingsError, match="LEAD_TIME_OTHER"):
        settings_from_env({"LEAD_TIME_OTHER": "two days"})


def test_fault_restoration_defaults_to_the_service_targets() -> None:
    assert default_restoration(NOW, AreaType.URBAN) == NOW + timedelta(hours=3, minutes=45)
    assert default_restoration(NOW, AreaType.RURAL) == NOW + timedelta(hours=5, minutes=30)
    assert default_restoration(NOW, AreaType.REMOTE) == NOW + timedelta(hours=6)


def _submission(**fields: object) -> OutageSubmission:
    base: dict[str, object] = {
        "external_id": "E1",
        "kind": OutageKind.PLANNED,
        "title": "t",
        "reason": "r",
        "region": "310115",
        "area_description": "a",
        "scope": Scope(feeders=["F1"]),
        "starts_at": NOW + timedelta(days=8),
        "ends_at": NOW + timedelta(days=8, hours=2),
    }
    return OutageSubmission(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"ends_at": NOW + timedelta(days=8)}, "ends_at", "after_starts_at"),
        ({"ends_at": None}, "ends_at", "required"),
        ({"scope": Scope()}, "scope", "not_empty"),
        ({"title": "   "}, "title", "not_blank"),
        ({"fault_located_at": NOW}, "fault_located_at", "fault_only"),
        ({"kind": OutageKind.ARREARS, "scope": Scope(feeders=["F1"])}, "scope.accounts", "required_for_kind"),
        (
            {"kind": OutageKind.FAULT, "starts_at": NOW, "fault_located_at": NOW + timedelta(minutes=2)},
            "fault_located_at",
            "not_in_future",
        ),
        ({"kind": OutageKind.FAULT, "starts_at": NOW, "ends_at": None}, "fault_located_at", "required"),
    ],
)
def test_submission_problems_name_the_field_and_rule(
    fields: dict[str, object], field: str, rule: str
) -> None:
    problems = submission_problems(_submission(**fields), NOW, timedelta(seconds=60))
    assert (field, rule) in [(p.field, p.rule) for p in problems]


def test_fault_located_within_clock_skew_is_accepted() -> None:
    fault = _submission(
        kind=OutageKind.FAULT, starts_at=NOW, ends_at=None, fault_located_at=NOW + 60 * SECOND
    )
    assert submission_problems(fault, NOW, timedelta(seconds=60)) == []
    late = _submission(kind=OutageKind.FAULT, starts_at=NOW, ends_at=None, fault_located_at=NOW + 61 * SECOND)
    assert [p.rule for p in submission_problems(late, NOW, timedelta(seconds=60))] == ["not_in_future"]
