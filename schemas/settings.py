"""Settings, read once from the environment into a frozen Struct and passed in."""

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
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
    # The storm view: a count of affected customers below this is shown as "< N" (no individual
    # customer can be told apart); the list page opens on the storm summary from this many
    # faults in progress.
    storm_min_count: int = 10
    storm_threshold: int = 20
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
    # Customers' fault reports (issue 13): how many distinct accounts of one transformer area
    # within the window make a suspected outage, how many reporting areas of one feeder make a
    # suspected feeder outage, and how long a customer's or address's further reports join its
    # open repair order.
    report_group_accounts: int = 3
    report_group_window: timedelta = timedelta(minutes=15)
    report_feeder_areas: int = 3
    repair_merge_window: timedelta = timedelta(hours=2)
    # After a restoration: "power still out?" to its reporters and this share of its other
    # recipients (at most restoration_check_max), this long after it.
    restoration_check_delay: timedelta = timedelta(minutes=10)
    restoration_check_share: float = 0.02
    restoration_check_max: int = 200
    # The follow-up survey (回访) of every published notice: this share of its recipients, at
    # least survey_min and at most survey_max, this long after the outage began; nobody twice
    # in 30 days. A notice whose answers say fewer than survey_threshold got it in time is flagged.
    survey_share: float = 0.01
    survey_min: int = 5
    survey_max: int = 200
    survey_delay: timedelta = timedelta(hours=2)
    survey_threshold: float = 0.9
    # Contacts an account may have besides its registry phone (family, a property manager).
    max_contacts: int = 5
    # The email channel: an SMTP server to hand messages to (none: the local outbox).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    email_from: str = "95598@notices.example.cn"
    email_rate: float = 0.0
    # Partner webhooks: may they target private or loopback addresses (a test bench, a partner
    # inside the utility's network), and how long one try may take.
    webhook_allow_private: bool = False
    webhook_timeout: float = 10.0
    # Calls not confirmed (no answer, voicemail, no key) are placed again after each of these
    # pauses; then the notice is flagged for a person to call.
    voice_retry_pauses: tuple[timedelta, ...] = (timedelta(minutes=10), timedelta(minutes=30))
    # A write is acknowledged (201/200) only once this many replicas have it (WAIT), within
    # redis_replica_timeout; else 503. 0: the primary's own write (and its AOF) is enough.
    redis_min_replicas: int = 0
    redis_replica_timeout: float = 1.0
    # A Sentinel deployment: the sentinels' host:port, the name they monitor the primary by, their
    # password, and the data servers' password. Set, it replaces redis_url: every process asks the
    # sentinels for the primary and asks again after a failover.
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str = "outage-notice"
    redis_sentinel_password: str | None = None
    redis_password: str | None = None

    @property
    def external_store(self) -> bool:
        """Redis/Valkey is run by someone else (REDIS_URL or sentinels), not embedded by `serve`."""
        return self.redis_url is not None or bool(self.redis_sentinels)

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


def _number(kind: type[int] | type[float], least: float = 0) -> Callable[[str, str], Any]:
    def parse(text: str, name: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise SettingsError(f"{name}={text!r}: expected a number") from None
        if value < least:
            raise SettingsError(f"{name}={value}: must be at least {least:g}")
        return value

    return parse


def _positive_duration(text: str, name: str) -> timedelta:
    value = parse_duration(text, name)
    if not value:
        raise SettingsError(f"{name}={text!r}: must be longer than 0")
    return value


def _clock_time(text: str, name: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected a time like 21:00") from None


def _flag(text: str, name: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={text!r}: expected 1 or 0")


def _one_of(*choices: str) -> Callable[[str, str], str]:
    def parse(text: str, name: str) -> str:
        if text not in choices:
            raise SettingsError(f"{name}={text!r}: expected {' or '.join(choices)}")
        return text

    return parse


def _zone(text: str, name: str) -> str:
    try:
        ZoneInfo(text)
    except Exception:
        raise SettingsError(f"{name}={text!r} is not a known time zone") from None
    return text


def _networks(text: str, name: str) -> tuple[str, ...]:
    found = []
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        try:
            ipaddress.ip_network(item)
        except ValueError:
            raise SettingsError(f"{name}: {item!r} is not an IP address or network") from None
        found.append(item)
    return tuple(found)


def _host_ports(text: str, name: str) -> tuple[tuple[str, int], ...]:
    found = []
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        host, colon, port = item.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(f"{name}: {item!r} is not host:port (e.g. 10.0.0.7:26379)")
        found.append((host.strip("[]"), int(port)))
    if not found:
        raise SettingsError(f"{name}={text!r}: expected host:port[,host:port...]")
    return tuple(found)


def _text(text: str, name: str) -> str:
    return text


def _url(text: str, name: str) -> str:
    return text.rstrip("/")


class Variable(msgspec.Struct, frozen=True):
    """One environment variable: its name, the Settings field it sets, and how it is read. Its
    default is the field's default (declared once, in Settings)."""

    name: str
    field: str
    parse: Callable[[str, str], Any]


# Every environment variable the service reads, by concern; README's settings table is checked
# against this list (tests/unit/test_settings.py).
ENVIRONMENT: tuple[Variable, ...] = (
    # server
    Variable("HOST", "host", _text),
    Variable("PORT", "port", _number(int, 1)),
    Variable("API_PROCESSES", "api_processes", _number(int, 1)),
    Variable("PUBLIC_BASE_URL", "public_base_url", _url),
    Variable("MAX_BODY_BYTES", "max_body_bytes", _number(int)),
    Variable("TIMEZONE", "timezone", _zone),
    Variable("DEMO_DATA", "demo_data", _flag),
    Variable("DEV_PAGES", "dev_pages", _flag),
    # store and queue
    Variable("REDIS_URL", "redis_url", _text),
    Variable("DATA_DIR", "data_dir", lambda text, name: Path(text)),
    Variable("REDIS_APPENDFSYNC", "redis_appendfsync", _one_of("always", "everysec")),
    Variable("REDIS_TIMEOUT", "redis_timeout", _number(float, 0.001)),
    Variable("REDIS_MIN_REPLICAS", "redis_min_replicas", _number(int)),
    Variable("REDIS_REPLICA_TIMEOUT", "redis_replica_timeout", _number(float, 0.001)),
    Variable("REDIS_SENTINELS", "redis_sentinels", _host_ports),
    Variable("REDIS_SENTINEL_MASTER", "redis_sentinel_master", _text),
    Variable("REDIS_SENTINEL_PASSWORD", "redis_sentinel_password", _text),
    Variable("REDIS_PASSWORD", "redis_password", _text),
    Variable("QUEUE_NAME", "queue_name", _text),
    Variable("JOB_TIMEOUT", "job_timeout", parse_duration),
    Variable("JOB_LEASE", "job_lease", _positive_duration),
    # publication rules
    Variable("CLOCK_SKEW", "clock_skew", parse_duration),
    *(
        Variable(f"LEAD_TIME_{kind.value.upper()}", f"lead_time:{kind.value}", parse_duration)
        for kind in CONFIGURABLE_LEAD_TIMES
    ),
    # SMS
    Variable("TWILIO_ACCOUNT_SID", "twilio_account_sid", _text),
    Variable("TWILIO_AUTH_TOKEN", "twilio_auth_token", _text),
    Variable("TWILIO_FROM", "twilio_from", _text),
    Variable("TWILIO_API_BASE", "twilio_api_base", _text),
    Variable("SMS_RATE", "sms_rate", _number(float)),
    Variable("SMS_BATCH_SIZE", "sms_batch_size", _number(int, 1)),
    Variable("SMS_CONCURRENCY", "sms_concurrency", _number(int, 1)),
    Variable("SMS_RETRY_BASE", "sms_retry_base", _number(float)),
    Variable("SMS_SIGNATURE", "sms_signature", _text),
    Variable("QUIET_START", "quiet_start", _clock_time),
    Variable("QUIET_END", "quiet_end", _clock_time),
    Variable("TEMPORARY_AUDIENCE", "temporary_audience", _one_of("important", "all")),
    Variable("OUTBOX_MAX", "outbox_max", _number(int)),
    Variable("HOTLINE", "hotline", _text),
    # phone menu
    Variable("IVR_GREETING_PREFIX", "ivr_greeting_prefix", _text),
    Variable("IVR_VOICE_ZH", "ivr_voice_zh", _text),
    Variable("IVR_VOICE_EN", "ivr_voice_en", _text),
    Variable("IVR_AGENT_NUMBER", "ivr_agent_number", _text),
    Variable("IVR_DATA_TIMEOUT", "ivr_data_timeout", _number(float)),
    # customers' fault reports
    Variable("REPORT_GROUP_ACCOUNTS", "report_group_accounts", _number(int, 1)),
    Variable("REPORT_GROUP_WINDOW", "report_group_window", _positive_duration),
    Variable("REPORT_FEEDER_AREAS", "report_feeder_areas", _number(int, 1)),
    Variable("REPAIR_MERGE_WINDOW", "repair_merge_window", _positive_duration),
    Variable("RESTORATION_CHECK_DELAY", "restoration_check_delay", parse_duration),
    Variable("RESTORATION_CHECK_SHARE", "restoration_check_share", _number(float)),
    Variable("RESTORATION_CHECK_MAX", "restoration_check_max", _number(int)),
    Variable("SURVEY_SHARE", "survey_share", _number(float)),
    Variable("SURVEY_MIN", "survey_min", _number(int)),
    Variable("SURVEY_MAX", "survey_max", _number(int)),
    Variable("SURVEY_DELAY", "survey_delay", parse_duration),
    Variable("SURVEY_THRESHOLD", "survey_threshold", _number(float)),
    # customers' own contacts
    Variable("MAX_CONTACTS", "max_contacts", _number(int, 0)),
    # email
    Variable("SMTP_HOST", "smtp_host", _text),
    Variable("SMTP_PORT", "smtp_port", _number(int, 1)),
    Variable("SMTP_USERNAME", "smtp_username", _text),
    Variable("SMTP_PASSWORD", "smtp_password", _text),
    Variable("SMTP_STARTTLS", "smtp_starttls", _flag),
    Variable("EMAIL_FROM", "email_from", _text),
    Variable("EMAIL_RATE", "email_rate", _number(float)),
    # partner webhooks
    Variable("WEBHOOK_ALLOW_PRIVATE", "webhook_allow_private", _flag),
    Variable("WEBHOOK_TIMEOUT", "webhook_timeout", _number(float, 0.1)),
    # voice calls
    Variable(
        "VOICE_RETRIES",
        "voice_retry_pauses",
        lambda text, name: tuple(
            parse_duration(part.strip(), name) for part in text.split(",") if part.strip()
        ),
    ),
    # public web and reports
    Variable("PUBLIC_RATE_LIMIT", "public_rate_limit", _number(int)),
    Variable("STORM_MIN_COUNT", "storm_min_count", _number(int, 1)),
    Variable("STORM_THRESHOLD", "storm_threshold", _number(int, 1)),
    Variable("TRUSTED_PROXIES", "trusted_proxies", _networks),
    Variable("CAP_SENDER", "cap_sender", _text),
    Variable("DELIVERY_THRESHOLD", "delivery_threshold", _number(float)),
)


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the variables that are set (and not empty); the rest keep their defaults."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    lead_times = dict(Settings().lead_times)
    for variable in ENVIRONMENT:
        text = env.get(variable.name, "")
        if not text.strip():
            continue
        value = variable.parse(text, variable.name)
        if variable.field.startswith("lead_time:"):
            lead_times[OutageKind(variable.field.partition(":")[2])] = LeadTime(value)
        else:
            values[variable.field] = value
    values["lead_times"] = MappingProxyType(lead_times)
    if "public_base_url" not in values and "port" in values:
        values["public_base_url"] = f"http://127.0.0.1:{values['port']}"
    dev_pages = values.pop("dev_pages", False)
    settings = Settings(**values)
    return settings.with_dev_pages() if dev_pages else settings
