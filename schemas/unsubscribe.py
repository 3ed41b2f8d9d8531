"""One-click unsubscribe links (RFC 8058): a token that names an address and cannot be made up."""

import base64
import hashlib
import hmac


def unsubscribe_token(secret: bytes, channel: str, address: str) -> str:
    named = base64.urlsafe_b64encode(f"{channel}:{address}".encode()).decode().rstrip("=")
    mac = hmac.new(secret, named.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{named}.{mac}"


def unsubscribed(secret: bytes, token: str) -> tuple[str, str] | None:
    """(channel, address) a token was made for, or None if it was not made with `secret`."""
    named, _, mac = token.partition(".")
    expected = hmac.new(secret, named.encode(), hashlib.sha256).hexdigest()[:32]
    if not mac or not hmac.compare_digest(mac, expected):
        return None
    try:
        channel, _, address = (
            base64.urlsafe_b64decode(named + "=" * (-len(named) % 4)).decode().partition(":")
        )
    except (ValueError, UnicodeDecodeError):
        return None
    return (channel, address) if address else None
