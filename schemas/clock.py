from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


def clock_in(zone: ZoneInfo) -> Clock:
    """The system clock in the deployment's zone, so stored and shown times read locally."""

    def now() -> datetime:
        return datetime.now(zone)

    return now
