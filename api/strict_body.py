"""Bodies decoded as sent: Litestar converts leniently (an epoch number or a digit string becomes a
time, "1" a number), which would accept what the API documents as refused."""

import re
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

T = TypeVar("T")
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


async def strictly(request: Request[Any, Any, Any], decoded: T) -> T:
    """`decoded` (what Litestar made of the body) if the body says exactly that, else 400 naming
    the field as every other validation error does."""
    try:
        return msgspec.json.decode(await request.body(), type=type(decoded), strict=True)
    except msgspec.ValidationError as exc:
        match = _AT.match(str(exc))
        assert match is not None
        path = (match.group("path") or "").lstrip(".")
        raise ValidationException(
            detail=str(exc), extra=[{"key": path or "data", "message": match.group("message")}]
        ) from None
