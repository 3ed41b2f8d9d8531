"""One place that turns every error into `{status_code, detail, extra: {field, rule, ...}}`."""

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from publishers.templates import environment
from schemas.errors import ServiceError

logger = logging.getLogger("api")
_error_page = environment().get_template("web/error.html")
_FIELD_IN_MESSAGE = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def _body(status_code: int, detail: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"status_code": status_code, "detail": detail, "extra": extra}


# Public pages a customer opens in a browser: an error there is a page, not JSON.
_PAGES = ("/outages", "/lookup", "/report", "/subscribe")
_PAGE_TEXT = {
    404: ("没有这条停电信息", "No such outage notice",
          "链接可能有误，或这条信息已不再显示。", "The link may be wrong, or the notice is no longer shown."),
    429: ("请求太频繁", "Too many requests",
          "请稍后再试。", "Please try again in a moment."),
    503: ("暂时无法显示停电信息", "Outage information is unavailable for a moment",
          "系统正在恢复，请稍后刷新。如您家中停电，请拨打95598报修。",
          "The service is recovering: reload in a little while. If your power is off, call 95598."),
}  # fmt: skip


def _is_page(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return request.method == "GET" and (path == "/" or path.startswith(_PAGES))


def _page(status_code: int, headers: dict[str, str] | None = None) -> Response[str]:
    title_zh, title_en, text_zh, text_en = _PAGE_TEXT[status_code]
    html = _error_page.render(
        title_zh=title_zh, title_en=title_en, text_zh=text_zh, text_en=text_en, hotline="95598"
    )
    return Response(html, status_code=status_code, media_type=MediaType.HTML, headers=headers)


def service_error(request: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    if exc.status_code in _PAGE_TEXT and _is_page(request):
        return _page(exc.status_code)
    # Lets a browser ask for the key (user name anything, password the key) on dispatch pages.
    headers = {"WWW-Authenticate": 'Basic realm="dispatch"'} if exc.status_code == 401 else None
    return Response(
        _body(exc.status_code, exc.detail, exc.extra), status_code=exc.status_code, headers=headers
    )


def _field_of(item: dict[str, Any]) -> str:
    # Litestar gives the path to the object ("data" for the body itself); msgspec names the
    # missing or unknown field only in its message.
    key = str(item.get("key") or "")
    path = "" if key in ("", "data") else key
    field_match = _FIELD_IN_MESSAGE.search(str(item.get("message", "")))
    if field_match:
        return f"{path}.{field_match.group(1)}" if path else field_match.group(1)
    return path or "body"


def _rule_of(message: str) -> str:
    lowered = message.lower()
    for words, rule in (
        ("unknown field", "unknown_field"),
        ("missing required", "required"),
        ("timezone", "timezone_required"),
        ("rfc3339", "rfc3339"),
        ("expected `datetime`", "rfc3339"),
        ("invalid enum", "one_of"),
        ("length", "length"),
        (" <= ", "range"),
        (" >= ", "range"),
        ("expected `", "type"),
        ("pattern", "pattern"),
    ):
        if words in lowered:
            return rule
    return "invalid"


def validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    items = exc.extra if isinstance(exc.extra, list) else []
    errors = []
    for item in items:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            errors.append({"field": _field_of(item), "rule": _rule_of(message), "message": message})
    if not errors:
        errors.append({"field": "body", "rule": "malformed", "message": exc.detail})
    first = errors[0]
    detail = f"{first['field']}: {first['message']}"
    return Response(_body(400, detail, {**first, "errors": errors}), status_code=400)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    headers = dict(exc.headers or {})
    if exc.status_code == 429:
        # The public limit counts per second: a client may try again in one.
        headers.setdefault("Retry-After", "1")
        extra = {"rule": "rate_limit", **extra}
    if exc.status_code in _PAGE_TEXT and _is_page(request):
        return _page(exc.status_code, headers)
    return Response(_body(exc.status_code, exc.detail, extra), status_code=exc.status_code, headers=headers)


def store_unavailable(
    request: Request[Any, Any, Any], exc: RedisConnectionError | RedisTimeoutError
) -> Response[Any]:
    if _is_page(request):
        return _page(503, {"Retry-After": "5"})
    return Response(
        _body(503, "the outage store is unreachable; try again shortly", {"rule": "store_available"}),
        status_code=503,
        headers={"Retry-After": "5"},
    )


def undecodable_body(
    _: Request[Any, Any, Any], exc: RecursionError | UnicodeDecodeError
) -> Response[dict[str, Any]]:
    # Raised while decoding what a client sent: JSON nested deeper than the decoder goes, bytes
    # that are not UTF-8.
    reason = "is not UTF-8" if isinstance(exc, UnicodeDecodeError) else "is nested too deeply"
    detail = f"body: the request body {reason}"
    return Response(_body(400, detail, {"field": "body", "rule": "malformed"}), status_code=400)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Everything else is a bug: keep the traceback in the log, never in the response.
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(_body(500, "internal error", {}), status_code=500)


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    ServiceError: service_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    RedisConnectionError: store_unavailable,
    RedisTimeoutError: store_unavailable,
    RecursionError: undecodable_body,
    UnicodeDecodeError: undecodable_body,
    Exception: unexpected_error,
}
