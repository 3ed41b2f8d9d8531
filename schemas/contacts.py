"""An account's contacts beyond its registry phone (family, a property manager), and the rules of
adding one: a one-time code sent to the phone already on the account proves its holder agrees."""

import hashlib
import hmac
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

import msgspec

from schemas.kinds import NoticeEvent
from schemas.outage import Input

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
# Wrong codes a pending registration takes before it is void (a new code must be asked for).
MAX_ATTEMPTS = 5
# Codes asked per account and per address within CODE_WINDOW: spares the account holder's phone.
MAX_CODES = 3
CODE_WINDOW = timedelta(hours=1)


class ContactChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    # A phone called with the notice (confirm by pressing 1), for those who prefer calls.
    VOICE = "voice"


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    account: str
    channel: ContactChannel
    # E.164 for SMS, a lower-cased address for email.
    address: str
    language: str
    verified_at: datetime
    # Arrears, violation and theft stoppages name the account: only contacts who want them get them.
    private_notices: bool = True
    # The notices it wants (new, postponed, restored ...); empty: every one.
    events: list[NoticeEvent] = []
    # sha256 of the token that lets the contact's holder read or remove it (given once, at verification).
    token_sha256: str = ""


class PendingRegistration(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    channel: ContactChannel
    address: str
    language: str
    events: list[NoticeEvent] = []
    private_notices: bool = True
    # sha256 of the code: a leaked store does not leak live codes.
    code_sha256: str
    expires_at: datetime
    attempts: int = 0


Language = Annotated[str, msgspec.Meta(pattern=r"^(zh-CN|en)$")]


class SubscriptionRequest(Input):
    account: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
    address: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    channel: ContactChannel = ContactChannel.SMS
    language: Language = "zh-CN"
    # Only these notices (e.g. ["new", "restored"]); empty: every one.
    events: list[NoticeEvent] = []
    # Whether it gets the account's own stoppages (arrears, violation, theft).
    private_notices: bool = True


class Verification(Input):
    account: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
    address: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def code_matches(code: str, pending: PendingRegistration, now: datetime) -> bool:
    """The code is the pending one's and still valid; compared in constant time."""
    return code_matches_digest(code, pending.code_sha256, pending.expires_at, now)


def code_matches_digest(code: str, digest: str, expires_at: datetime, now: datetime) -> bool:
    return now < expires_at and hmac.compare_digest(code_digest(code), digest)


def masked(phone: str) -> str:
    """A phone as told to someone who is not its holder: +86138****0001."""
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****"


Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class AreaSubscriptionRequest(Input):
    """Anyone subscribes a phone or an email to the public notices of a street address, a feeder
    or a transformer area of a region (one of the three)."""

    region: Code
    address: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    channel: ContactChannel = ContactChannel.SMS
    language: Language = "zh-CN"
    street_address: Annotated[str, msgspec.Meta(min_length=2, max_length=200)] | None = None
    feeder: Code | None = None
    transformer_area: Code | None = None


class AreaSubscription(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    region: str
    channel: ContactChannel
    address: str
    language: str
    # What it covers: the feeders and areas of the street address, or the one given.
    feeders: list[str]
    transformer_areas: list[str]
    # What the subscriber asked for, as they wrote it.
    asked_for: str
    code_sha256: str
    expires_at: datetime
    attempts: int = 0
    confirmed_at: datetime | None = None
    token_sha256: str = ""


class AreaConfirmation(Input):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]
