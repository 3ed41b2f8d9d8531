"""What the dispatch centre sees of delivery, per notice and channel."""

from datetime import datetime

import msgspec

from schemas.fanout import STATUS_RANK


class Delivery(msgspec.Struct, kw_only=True):
    """One notice on one channel: how many recipients are at each step."""

    recipients: int = 0
    # Waiting for a worker; held: waiting for the end of quiet hours.
    queued: int = 0
    held: int = 0
    sending: int = 0
    accepted: int = 0
    sent: int = 0
    delivered: int = 0
    undelivered: int = 0
    failed: int = 0
    opted_out: int = 0
    # In flight when a worker died: may have reached the customer, never sent again.
    unconfirmed: int = 0
    removed: int = 0
    # Accounts that share a phone (an address) with another of the notice's accounts: that one
    # message serves both.
    same_phone: int = 0
    # Accounts with no address on the channel (no email address, say).
    no_address: int = 0
    # Calls: placed, and confirmed by the callee pressing 1.
    calling: int = 0
    confirmed: int = 0
    retries: int = 0
    # Provider error code -> count, for failed and undelivered messages.
    error_codes: dict[str, int] = {}


class NoticeDelivery(msgspec.Struct, kw_only=True):
    notice: str
    event: str
    published_at: datetime
    # Channel -> when the notice was handed to it.
    handed_over: dict[str, str]
    sms: Delivery
    # Every per-customer channel, SMS included.
    channels: dict[str, Delivery]


class DeliveryReport(msgspec.Struct):
    outage_id: str
    notices: list[NoticeDelivery]


def delivery_counts(counts: dict[str, int]) -> Delivery:
    settled = sum(v for k, v in counts.items() if k in STATUS_RANK)
    queued = max(0, counts.get("recipients", 0) - counts.get("held", 0) - settled)
    codes = {k.split(":", 1)[1]: v for k, v in counts.items() if ":" in k and v}
    return Delivery(
        recipients=counts.get("recipients", 0),
        queued=queued,
        held=counts.get("held", 0),
        sending=counts.get("sending", 0),
        accepted=counts.get("accepted", 0),
        sent=counts.get("sent", 0),
        delivered=counts.get("delivered", 0),
        undelivered=counts.get("undelivered", 0),
        failed=counts.get("failed", 0),
        opted_out=counts.get("opted_out", 0),
        unconfirmed=counts.get("unconfirmed", 0),
        removed=counts.get("removed", 0),
        same_phone=counts.get("same_phone", 0),
        no_address=counts.get("no_address", 0),
        calling=counts.get("calling", 0),
        confirmed=counts.get("confirmed", 0),
        retries=counts.get("retries", 0),
        error_codes=codes,
    )


class SmsPreview(msgspec.Struct):
    language: str
    text: str
    characters: int
    encoding: str
    segments: int


class Reach(msgspec.Struct, kw_only=True):
    """Who a notice's audience is, before anything is sent."""

    # Accounts the notice is owed to.
    recipients: int = 0
    # Of those, the ones whose phone asked for no more SMS.
    opted_out: int = 0
    # The rest: the accounts an SMS will be sent for.
    reachable: int = 0
    # Distinct phones among the reachable: one SMS per phone when accounts share a number.
    messages: int = 0


class NoticePreview(msgspec.Struct, kw_only=True):
    outage_id: str
    notice: str
    event: str
    # The version reviewed (also the ETag): approve and reject send it back as If-Match.
    version: str
    recipients: int
    opted_out: int
    reachable: int
    messages: int
    sms: list[SmsPreview]
