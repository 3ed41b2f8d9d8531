"""Settings, read once from the environment into a frozen Struct and passed in."""

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import msgspec

from schemas.kinds import OutageKind
from schemas.rules import CONFIGURABLE_LEAD_TIMES, FIXED_LEAD_TIMES, LeadTime


class SettingsError(ValueError):
    pass


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # None: start the embedded redis-server under data_dir.
    redis_url: str | None = None
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Asia/Shanghai"
    # Dispatch systems' clocks drift; a fault "located" this far ahead of ours is still accepted.
    clock_skew: timedelta = timedelta(seconds=60)
    lead_times: Mapping[OutageKind, LeadTime] = MappingProxyType(
        {**FIXED_LEAD_TIMES, **CONFIGURABLE_LEAD_TIMES}
    )
    queue_name: str = "outage-notice:queue"
    max_body_bytes: int = 1_048_576
    demo_data: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str, name: str) -> timedelta:
    if text.strip() == "0":
        return timedelta(0)
    match = _DURATION.match(text.strip())
    if match is None:
        raise SettingsError(f"{name}={text!r}: expected a duration like 90s, 30m, 24h or 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _lead_times(env: Mapping[str, str]) -> Mapping[OutageKind, LeadTime]:
    lead_times = dict(FIXED_LEAD_TIMES)
    for kind, default in CONFIGURABLE_LEAD_TIMES.items():
        name = f"LEAD_TIME_{kind.value.upper()}"
        lead_times[kind] = LeadTime(parse_duration(env[name], name)) if name in env else default
    return MappingProxyType(lead_times)


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    try:
        port = int(env.get("PORT", "8000"))
        max_body = int(env.get("MAX_BODY_BYTES", "1048576"))
    except ValueError as exc:
        raise SettingsError(f"PORT and MAX_BODY_BYTES must be integers: {exc}") from None
    timezone = env.get("TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except Exception:
        raise SettingsError(f"TIMEZONE={timezone!r} is not a known time zone") from None
    return Settings(
        redis_url=env.get("REDIS_URL") or None,
        data_dir=Path(env.get("DATA_DIR", "data")),
        host=env.get("HOST", "127.0.0.1"),
        port=port,
        timezone=timezone,
        clock_skew=parse_duration(env.get("CLOCK_SKEW", "60s"), "CLOCK_SKEW"),
        lead_times=_lead_times(env),
        queue_name=env.get("QUEUE_NAME", "outage-notice:queue"),
        max_body_bytes=max_body,
        demo_data=env.get("DEMO_DATA", "") in ("1", "true", "yes"),
    )
