"""Validators for public responses: an ETag per (published version, minute, request), and 304s.

A feed reader or CDN that polls sends back the ETag it has; when nothing was published and the
minute has not turned, it gets 304 and no body.
"""

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from litestar import Request, Response

from api.cache import CacheKey


def etag_of(key: CacheKey) -> str:
    return '"' + hashlib.sha1(repr(key).encode()).hexdigest()[:20] + '"'


def _opaque(tag: str) -> str:
    # If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x".
    return tag.strip().removeprefix("W/")


def matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match value (`*` or a list of tags) names `etag`."""
    tags = {_opaque(t) for t in if_none_match.split(",")}
    return "*" in tags or _opaque(etag) in tags


def unchanged(request: Request[Any, Any, Any], etag: str, last_modified: datetime | None = None) -> bool:
    """Whether the client's copy is current: If-None-Match (`*` or a list of tags), else
    If-Modified-Since when the response has a Last-Modified."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return matches(if_none_match, etag)
    since = request.headers.get("if-modified-since")
    if since is None or last_modified is None:
        return False
    try:
        return last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def validators(etag: str, last_modified: datetime | None, max_age: int) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    return headers


def not_modified(headers: dict[str, str]) -> Response[bytes]:
    return Response(content=b"", status_code=304, headers=headers)
