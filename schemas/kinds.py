from enum import StrEnum

import msgspec


class OutageKind(StrEnum):
    """Outage classes of the 95598 rules (停送电信息分类)."""

    PLANNED = "planned"
    TEMPORARY = "temporary"
    FAULT = "fault"
    OVER_CAPACITY = "over_capacity"
    OTHER = "other"
    THEFT = "theft"
    VIOLATION = "violation"
    ARREARS = "arrears"
    ORDERLY_USE = "orderly_use"


class KindPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How the service treats one kind of outage (DESIGN 2 and 3); the one place a kind is defined.

    A new kind is one row here, its lead time (schemas.rules), and its words (schemas.wording).
    """

    # 生产类 (production) or 营销类 (marketing).
    production: bool
    # Addressed to named accounts only, private: never on a page, in a feed or told to another
    # caller (arrears, theft, violation).
    named_accounts: bool = False
    # Work announced ahead: reminders, "it has begun", the calendar feed, the phone menu's "next
    # seven days", quiet hours for its SMS.
    scheduled: bool = False
    # The SMS goes to the important customers only unless TEMPORARY_AUDIENCE=all.
    important_customers: bool = False


POLICY: dict[OutageKind, KindPolicy] = {
    OutageKind.PLANNED: KindPolicy(production=True, scheduled=True),
    OutageKind.TEMPORARY: KindPolicy(production=True, scheduled=True, important_customers=True),
    OutageKind.FAULT: KindPolicy(production=True),
    OutageKind.OVER_CAPACITY: KindPolicy(production=True),
    OutageKind.OTHER: KindPolicy(production=True),
    OutageKind.THEFT: KindPolicy(production=False, named_accounts=True),
    OutageKind.VIOLATION: KindPolicy(production=False, named_accounts=True),
    OutageKind.ARREARS: KindPolicy(production=False, named_accounts=True),
    OutageKind.ORDERLY_USE: KindPolicy(production=False),
}
# Stoppages addressed to named accounts: private, never shown to anyone else.
ACCOUNT_KINDS = frozenset(k for k, p in POLICY.items() if p.named_accounts)
MARKETING_KINDS = frozenset(k for k, p in POLICY.items() if not p.production)
SCHEDULED_KINDS = frozenset(k for k, p in POLICY.items() if p.scheduled)


class AreaType(StrEnum):
    URBAN = "urban"
    RURAL = "rural"
    REMOTE = "remote"


class Role(StrEnum):
    SUBMITTER = "submitter"
    REVIEWER = "reviewer"
    EMERGENCY = "emergency"
    # A 95598 agent or a partner system: files customers' fault reports, nothing else.
    AGENT = "agent"
    # A partner system (a city emergency office, a property manager): registers webhooks.
    PARTNER = "partner"


class Status(StrEnum):
    PENDING_REVIEW = "pending_review"
    REJECTED = "rejected"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    RESTORED = "restored"


class ChangeType(StrEnum):
    POSTPONE = "postpone"
    CANCEL = "cancel"
    DELAY_RESTORATION = "delay_restoration"
    RESTORED = "restored"


class NoticeEvent(StrEnum):
    """What a published notice tells customers; channels pick their template by it."""

    NEW = "new"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    RESTORATION_DELAYED = "restoration_delayed"
    RESTORED = "restored"
    # Not a published notice of its own: the same outage, told again shortly before it starts.
    REMINDER = "reminder"
    STARTED = "started"


EVENT_OF_CHANGE = {
    ChangeType.POSTPONE: NoticeEvent.POSTPONED,
    ChangeType.CANCEL: NoticeEvent.CANCELLED,
    ChangeType.DELAY_RESTORATION: NoticeEvent.RESTORATION_DELAYED,
    ChangeType.RESTORED: NoticeEvent.RESTORED,
}
