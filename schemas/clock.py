from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def clock_in(zone: ZoneInfo) -> Clock:
    """The system clock in the deployment's zone, so stored and shown times read locally."""

    def now() -> datetime:
        return datetime.now(zone)

    return now
