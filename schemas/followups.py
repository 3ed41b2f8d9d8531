"""After a notice: the restoration check ("power still out?") and the follow-up survey (回访) of a
sample of its recipients, as pure rules: who and how many are asked, and what an answer means."""

import math
from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

# An answer counts this long after the question; a later "1" is not taken as one.
QUESTION_TTL = timedelta(hours=48)
# Nobody is surveyed twice within this long (the 95598 sampling spares customers).
SURVEY_GAP = timedelta(days=30)
# Free-text survey answers kept per notice for reviewers.
COMMENTS_KEPT = 50


class Question(StrEnum):
    RESTORATION_CHECK = "restoration_check"
    SURVEY = "survey"


class PendingQuestion(msgspec.Struct, frozen=True, kw_only=True):
    """What a phone was last asked, so its reply "1" means the right thing."""

    kind: Question
    outage_id: str
    notice_id: str
    account: str
    language: str
    asked_at: datetime


class SurveyCounts(msgspec.Struct, kw_only=True):
    sampled: int = 0
    answered: int = 0
    # "1": received the notice before the outage began; "2": did not.
    in_time: int = 0
    not_in_time: int = 0
    comments: list[str] = []


def survey_size(recipients: int, share: float, least: int, most: int) -> int:
    """How many of a notice's recipients are surveyed: the share, at least `least`, at most
    `most`, never more than there are."""
    wanted = max(least, math.ceil(recipients * share))
    return max(0, min(wanted, most, recipients))


def check_size(others: int, share: float, most: int) -> int:
    """How many of an outage's recipients besides its reporters get the restoration check."""
    return max(0, min(math.ceil(others * share), most, others))


def in_time_share(counts: SurveyCounts) -> float | None:
    said = counts.in_time + counts.not_in_time
    return None if said == 0 else round(counts.in_time / said, 4)


def survey_at(published_at: datetime | None, starts_at: datetime, delay: timedelta) -> datetime | None:
    """When a notice's survey goes: after the outage began, so "before it began?" has an answer."""
    return None if published_at is None else max(published_at, starts_at) + delay


def check_at(restored_at: datetime | None, delay: timedelta) -> datetime | None:
    return None if restored_at is None else restored_at + delay


# What is asked and answered, per language ({signature}, {area}, {date}, {hotline}, {order}).
WORDS = {
    "zh-CN": {
        Question.RESTORATION_CHECK: "{signature}{area}已恢复供电。如您家中仍然停电，请回复1；已恢复请回复2。",
        Question.SURVEY: "{signature}回访：{date}{area}停电，您是否在停电前收到了停电通知？收到请回复1，"
        "未收到请回复2，也可直接回复您的意见。",
        "still_out": "已为您重新报修，工单号{order}，我们将优先处理。咨询请拨{hotline}。",
        "back_on": "感谢您的确认。",
        "thanks": "感谢您的反馈。",
    },
    "en": {
        Question.RESTORATION_CHECK: "Power is back at {area}. If yours is still off, reply 1; if it is back, reply 2.",
        Question.SURVEY: "State Grid follow-up: did you get our notice of the outage at {area} on {date} before "
        "it began? Reply 1 for yes, 2 for no, or tell us in your own words.",
        "still_out": "Reported again as order {order}; it goes first. Call {hotline}.",
        "back_on": "Thank you for confirming.",
        "thanks": "Thank you for your answer.",
    },
}
