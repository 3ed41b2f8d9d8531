"""Times in query strings, read exactly as in bodies: RFC 3339 with an offset, nothing else."""

from datetime import datetime

import msgspec

from schemas.errors import BadRequest
from schemas.outage import AwareDatetime

_decode = msgspec.json.Decoder(AwareDatetime).decode


RFC3339 = "RFC 3339 with an offset, e.g. 2026-12-08T08:00:00+08:00"


def query_time(text: str | None, name: str) -> datetime | None:
    """The instant, or 400 naming the parameter: epoch numbers, digit strings and times without
    an offset are refused, as they are in a body (same status, same rule names)."""
    if text is None:
        return None
    try:
        return _decode(msgspec.json.encode(text))
    except msgspec.ValidationError as exc:
        missing_offset = "timezone" in str(exc)
        raise BadRequest(
            f"{name}: give an RFC 3339 time with an offset, e.g. 2026-12-08T08:00:00+08:00 (got {text!r})",
            field=name,
            rule="timezone_required" if missing_offset else "rfc3339",
        ) from None
