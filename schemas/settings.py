"""Settings, read once from the environment into a frozen Struct and passed in."""

import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
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
    # The embedded server's AOF fsync policy. "always": a reply (a 201) leaves Redis only after its
    # write is on disk. "everysec" replies before the write when the disk is slow (Redis 6.2
    # postpones AOF writes while an fsync is in progress), so a killed Redis can lose acknowledged
    # records; choose it only where throughput matters more than that.
    redis_appendfsync: str = "always"
    # Seconds any one Redis call may take before it fails (the API then answers 503 in time).
    redis_timeout: float = 1.5
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
    # Customer file uploads are larger than any other request.
    max_import_bytes: int = 200 * 1_048_576
    demo_data: bool = False
    # /dev/outbox and /dev/ivr: on only when asked for (DEV_PAGES or --demo), never with a real
    # Twilio token (the IVR page signs requests with it, so anyone could call as any number).
    dev_pages: bool = False
    hotline: str = "95598"
    # IVR: the greeting's prefix, the Say voices, where "0" transfers to, how long data may take.
    ivr_greeting_prefix: str = "您好"
    ivr_voice_zh: str = "Polly.Zhiyu"
    ivr_voice_en: str = "Polly.Joanna"
    ivr_agent_number: str = "+8695598"
    ivr_data_timeout: float = 2.0
    # API processes `serve` and `api` run (one per core is a good start).
    api_processes: int = 1
    # Public pages, feeds and JSON: requests per second per client address; 0 turns it off.
    # Generous, because mobile carriers put many customers behind one address.
    public_rate_limit: int = 50
    # Addresses (or networks) of the reverse proxies / CDN whose X-Forwarded-For is believed; empty:
    # nobody's, the client is the connection's peer.
    trusted_proxies: tuple[str, ...] = ()
    # A notice that reached fewer than this share of its reachable recipients is flagged for follow-up.
    delivery_threshold: float = 0.95
    # CAP <sender>: who issues the alerts (no spaces or commas).
    cap_sender: str = "95598@sgcc.com.cn"
    public_base_url: str = "http://127.0.0.1:8000"
    # SMS: Twilio when the credentials are set, else the local outbox.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    # Tests point the SDK at a local fake Twilio.
    twilio_api_base: str | None = None
    # Segments per second across all workers; 0: no cap.
    sms_rate: float = 0.0
    sms_batch_size: int = 500
    sms_concurrency: int = 20
    # Longest a job may run. A killed worker's job is run again this long plus 10 s later (arq).
    job_timeout: timedelta = timedelta(seconds=120)
    # A running publish or SMS job renews its lease this often over; a killed worker's jobs are
    # taken up by another worker (or the restarted one) at most this long after the kill.
    job_lease: timedelta = timedelta(seconds=10)
    # A throttled batch waits base * 2^(try-1) seconds, at most a minute, before it runs again.
    sms_retry_base: float = 2.0
    sms_signature: str = "【国家电网】"
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    # DESIGN 3: temporary outages are owed to important customers; "all" tells everyone.
    temporary_audience: str = "important"
    outbox_max: int = 50_000

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_dev_pages(self) -> "Settings":
        """These settings with the developer pages on, or SettingsError if that is unsafe."""
        if self.twilio_auth_token:
            raise SettingsError(
                "developer pages (DEV_PAGES or --demo) sign phone-menu requests and list every SMS: "
                "they cannot run with TWILIO_AUTH_TOKEN set; unset one of them"
            )
        return msgspec.structs.replace(self, dev_pages=True)

    @property
    def uses_twilio(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from)


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


def _number(env: Mapping[str, str], name: str, default: str, kind: type[int] | type[float] = int) -> Any:
    try:
        value = kind(env.get(name, default))
    except ValueError:
        raise SettingsError(f"{name}={env.get(name)!r}: expected a number") from None
    if value < 0:
        raise SettingsError(f"{name}={value}: must not be negative")
    return value


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    found = []
    for item in env.get(name, "").split(","):
        if not item.strip():
            continue
        try:
            ipaddress.ip_network(item.strip())
        except ValueError:
            raise SettingsError(f"{name}: {item.strip()!r} is not an IP address or network") from None
        found.append(item.strip())
    return tuple(found)


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "").strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={env[name]!r}: expected 1 or 0")


def _clock_time(env: Mapping[str, str], name: str, default: str) -> time:
    text = env.get(name, default)
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected a time like 21:00") from None


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    port = _number(env, "PORT", "8000")
    max_body = _number(env, "MAX_BODY_BYTES", "1048576")
    audience = env.get("TEMPORARY_AUDIENCE", "important")
    if audience not in ("important", "all"):
        raise SettingsError(f"TEMPORARY_AUDIENCE={audience!r}: expected important or all")
    appendfsync = env.get("REDIS_APPENDFSYNC", "always")
    if appendfsync not in ("always", "everysec"):
        raise SettingsError(f"REDIS_APPENDFSYNC={appendfsync!r}: expected always or everysec")
    timezone = env.get("TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except Exception:
        raise SettingsError(f"TIMEZONE={timezone!r} is not a known time zone") from None
    settings = Settings(
        redis_url=env.get("REDIS_URL") or None,
        data_dir=Path(env.get("DATA_DIR", "data")),
        redis_appendfsync=appendfsync,
        redis_timeout=_number(env, "REDIS_TIMEOUT", "1.5", float) or 1.5,
        host=env.get("HOST", "127.0.0.1"),
        port=port,
        timezone=timezone,
        clock_skew=parse_duration(env.get("CLOCK_SKEW", "60s"), "CLOCK_SKEW"),
        lead_times=_lead_times(env),
        queue_name=env.get("QUEUE_NAME", "outage-notice:queue"),
        max_body_bytes=max_body,
        demo_data=_flag(env, "DEMO_DATA"),
        hotline=env.get("HOTLINE", "95598"),
        cap_sender=env.get("CAP_SENDER", "95598@sgcc.com.cn"),
        delivery_threshold=_number(env, "DELIVERY_THRESHOLD", "0.95", float),
        public_rate_limit=_number(env, "PUBLIC_RATE_LIMIT", "50"),
        trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
        api_processes=max(1, _number(env, "API_PROCESSES", "1")),
        ivr_greeting_prefix=env.get("IVR_GREETING_PREFIX", "您好"),
        ivr_voice_zh=env.get("IVR_VOICE_ZH", "Polly.Zhiyu"),
        ivr_voice_en=env.get("IVR_VOICE_EN", "Polly.Joanna"),
        ivr_agent_number=env.get("IVR_AGENT_NUMBER", "+8695598"),
        ivr_data_timeout=_number(env, "IVR_DATA_TIMEOUT", "2", float),
        public_base_url=env.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
        twilio_from=env.get("TWILIO_FROM") or None,
        twilio_api_base=env.get("TWILIO_API_BASE") or None,
        sms_rate=_number(env, "SMS_RATE", "0", float),
        sms_batch_size=max(1, _number(env, "SMS_BATCH_SIZE", "500")),
        sms_concurrency=max(1, _number(env, "SMS_CONCURRENCY", "20")),
        job_timeout=parse_duration(env.get("JOB_TIMEOUT", "120s"), "JOB_TIMEOUT"),
        job_lease=parse_duration(env.get("JOB_LEASE", "10s"), "JOB_LEASE") or timedelta(seconds=10),
        sms_retry_base=_number(env, "SMS_RETRY_BASE", "2", float),
        sms_signature=env.get("SMS_SIGNATURE", "【国家电网】"),
        quiet_start=_clock_time(env, "QUIET_START", "21:00"),
        quiet_end=_clock_time(env, "QUIET_END", "08:00"),
        temporary_audience=audience,
        outbox_max=_number(env, "OUTBOX_MAX", "50000"),
    )
    return settings.with_dev_pages() if _flag(env, "DEV_PAGES") else settings
