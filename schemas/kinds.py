from enum import StrEnum


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


# Stoppages addressed to named accounts: private, never shown to anyone else.
ACCOUNT_KINDS = frozenset({OutageKind.THEFT, OutageKind.VIOLATION, OutageKind.ARREARS})
MARKETING_KINDS = ACCOUNT_KINDS | {OutageKind.ORDERLY_USE}


class AreaType(StrEnum):
    URBAN = "urban"
    RURAL = "rural"
    REMOTE = "remote"


class Role(StrEnum):
    SUBMITTER = "submitter"
    REVIEWER = "reviewer"
    EMERGENCY = "emergency"


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
