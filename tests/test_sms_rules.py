"""Segment counting, quiet hours, the shared rate cap, and the texts' limits."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from arq.connections import ArqRedis

from publishers.sms_text import SmsTexts
from schemas.fanout import release_time
from schemas.kinds import NoticeEvent, OutageKind, Status
from schemas.notices import Notice
from schemas.outage import Actor, Outage, Scope
from schemas.sms import MAX_BODY_CHARS, sms_size
from store.rate import RateLimiter

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # each takes two septets
        ("€" * 81, "GSM-7", 2),
        ("停" * 70, "UCS-2", 1),
        ("停" * 71, "UCS-2", 2),
        ("停" * 134, "UCS-2", 2),
        ("停" * 135, "UCS-2", 3),
        ("a" * 69 + "停", "UCS-2", 1),  # one Chinese character makes the whole message UCS-2
        ("⚡" * 70, "UCS-2", 1),
        ("😀" * 35, "UCS-2", 1),  # two UTF-16 units each
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_segments(text: str, encoding: str, segments: int) -> None:
    size = sms_size(text)
    assert (size.encoding, size.segments) == (encoding, segments)


@pytest.mark.parametrize(
    ("hour", "minute", "held_until"),
    [
        (20, 59, None),
        (21, 0, "next 08:00"),
        (23, 30, "next 08:00"),
        (3, 0, "08:00"),
        (7, 59, "08:00"),
        (8, 0, None),
    ],
)
def test_quiet_hours(hour: int, minute: int, held_until: str | None) -> None:
    now = datetime(2026, 11, 23, hour, minute, tzinfo=ZONE)
    release = release_time(OutageKind.PLANNED, NoticeEvent.NEW, now, time(21), time(8), ZONE)
    if held_until is None:
        assert release is None
    else:
        day = now.date() + timedelta(days=1 if held_until.startswith("next") else 0)
        assert release == datetime(day.year, day.month, day.day, 8, 0, tzinfo=ZONE)
    assert release_time(OutageKind.FAULT, NoticeEvent.NEW, now, time(21), time(8), ZONE) is None
    assert release_time(OutageKind.PLANNED, NoticeEvent.POSTPONED, now, time(21), time(8), ZONE) is None


async def test_rate_cap_is_shared_by_every_sender_on_the_same_redis(redis: ArqRedis) -> None:
    one, other = RateLimiter(redis, "sms", "+15005550006", 10), RateLimiter(redis, "sms", "+15005550006", 10)
    start = 1_800_000_000.0
    assert await one.reserve(6, at=start) == 0
    assert await other.reserve(4, at=start) == 0
    # The bucket of 10 segments a second is empty: the next 5 wait half a second, 5 more a second.
    assert await one.reserve(5, at=start) == pytest.approx(0.5)
    assert await other.reserve(5, at=start) == pytest.approx(1.0)
    # 1.5 s later the debt of 10 is paid and 5 are back; the bucket never holds more than 10.
    assert await one.reserve(5, at=start + 1.5) == 0
    assert await other.reserve(6, at=start + 1.5) == pytest.approx(0.6)
    assert await one.reserve(10, at=start + 60) == 0
    assert await one.reserve(1, at=start + 60) == pytest.approx(0.1)
    assert await RateLimiter(redis, "sms", "another-sender", 10).reserve(5, at=start) == 0
    assert await RateLimiter(redis, "sms", "+15005550006", 0).reserve(1000, at=start) == 0


async def test_without_a_given_time_the_bucket_runs_on_redis_time(redis: ArqRedis) -> None:
    limiter = RateLimiter(redis, "sms", "redis-time", 10)
    assert await limiter.reserve(10) == 0
    # Whatever time passed between the calls refilled at most a little of the bucket.
    assert 0.5 < await limiter.reserve(10) <= 1.0


@pytest.mark.parametrize("event", list(NoticeEvent))
@pytest.mark.parametrize("kind", [OutageKind.PLANNED, OutageKind.FAULT, OutageKind.ARREARS])
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_text_renders_within_twilios_limit(event: NoticeEvent, kind: OutageKind, language: str) -> None:
    from schemas.outage import Change

    now = datetime(2026, 11, 23, 10, tzinfo=ZONE)
    actor = Actor(key_id="k", name="n", centre="c")
    outage = Outage(
        external_id="e", kind=kind, title="t" * 500, reason="原因" * 2000, region="310115",
        area_description="地区" * 2000, scope=Scope(accounts=["A1"]), starts_at=now, ends_at=now + timedelta(hours=5),
        fault_located_at=now if kind is OutageKind.FAULT else None, id="O", centre="c", status=Status.PUBLISHED,
        submitted_by=actor, submitted_at=now, restored_at=now + timedelta(hours=4),
    )  # fmt: skip
    change = Change(
        id="c1", type="postpone", reason="改期" * 2000, submitted_by=actor, submitted_at=now,  # type: ignore[arg-type]
        previous_starts_at=now - timedelta(days=1), previous_ends_at=now,
    )  # fmt: skip
    notice = Notice(id="n", event=event, published_at=now, outage=outage, change=change)
    text = SmsTexts(ZONE, "95598").render(notice, None, language)
    assert 0 < len(text) <= MAX_BODY_CHARS
    assert "95598" in text
