"""Partner webhooks: what a partner subscribes to, how deliveries are retried, and which targets
are refused (the SSRF guard), as pure rules."""

import ipaddress
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

import msgspec

from schemas.kinds import OutageKind
from schemas.outage import Input

# Tries after the first and the pause before each: about a day in all, then the webhook is
# disabled with the reason (Standard Webhooks' retry guidance).
RETRY_PAUSES = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=10),
)  # fmt: skip


class WebhookRequest(Input):
    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
    # Outage kinds wanted; empty: every public kind. Private kinds (arrears, theft, violation)
    # concern one customer and are never sent to partners.
    kinds: list[OutageKind] = []
    # "json" (the public view of the outage) or "cap" (its CAP 1.2 alert, XML).
    format: Annotated[str, msgspec.Meta(pattern=r"^(json|cap)$")] = "json"


class Webhook(msgspec.Struct, kw_only=True):
    id: str
    key_id: str
    region: str
    url: str
    kinds: list[OutageKind]
    format: str
    created_at: datetime
    enabled: bool = True
    disabled_reason: str = ""
    failures: int = 0
    last_error: str = ""
    last_delivered_at: datetime | None = None


class WebhookCreated(msgspec.Struct, kw_only=True):
    webhook: Webhook
    # Shown once: receivers verify signatures with it (whsec_..., Standard Webhooks).
    secret: str


def target_problem(url: str, addresses: list[str], allow_private: bool) -> str | None:
    """Why a webhook may not be sent to `url` (resolving to `addresses`); None: it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the url must be http(s)://host/..."
    if parts.username or parts.password:
        return "the url may not carry credentials"
    if not addresses:
        return f"{parts.hostname} does not resolve"
    if allow_private:
        return None
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if not ip.is_global or ip.is_multicast:
            return f"{parts.hostname} resolves to {address}, a private, loopback or reserved address"
    return None


def retry_pause(attempt: int) -> timedelta | None:
    """The pause before try `attempt + 1` after `attempt` failed ones (1-based); None: give up."""
    return RETRY_PAUSES[attempt - 1] if attempt <= len(RETRY_PAUSES) else None
