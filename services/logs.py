"""JSON logs for the API and the workers, every phone number masked (DESIGN 6: no personal data)."""

import logging
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any, TextIO

import msgspec
import structlog
from litestar.types import ASGIApp, Receive, Send

# E.164 numbers (with or without the plus, or 00 for it, spaced or not), and Chinese mobiles as
# people type them (138 0013 8000): not dates, ids or accounts.
_PHONE = re.compile(
    r"\+\d[\d -]{6,18}\d"
    r"|(?<![\d+])(?:00)?86[ -]?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"
    r"|(?<![\d+])1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"
)


def mask(text: str) -> str:
    def hide(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return ("+" if match.group().startswith("+") else "") + "*" * (len(digits) - 4) + digits[-4:]

    return _PHONE.sub(hide, text)


def _mask_everything(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if isinstance(value, str):
            event[key] = mask(value)
    return event


# The request line is written by structlog directly, not through the standard library's logging:
# at one line per request that machinery was a fifth of the API's CPU (py-spy, BENCHMARKS.md).
_request_log: Any = None


def _named(name: str) -> Any:
    def add(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event["logger"] = name
        return event

    return add


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """One JSON object per line on `stream` (stderr), for structlog and the standard library alike."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _mask_everything,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # Our request lines replace uvicorn's access log; httpx and the twilio SDK would log every
    # outbound Twilio call (ten lines each, with the recipient's number) during a fan-out.
    for noisy in ("uvicorn.access", "httpx", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    global _request_log
    out = stream or sys.stderr
    _request_log = structlog.wrap_logger(
        # Bytes straight to the stream's buffer, when it has one (a file, stderr).
        structlog.BytesLogger(out.buffer) if hasattr(out, "buffer") else structlog.WriteLogger(out),
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _named("api.request"),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # The middleware masks the one value that can hold a number (the path), and msgspec
            # writes the line: together a third of the cost of the general chain, per request.
            _encode_line if hasattr(out, "buffer") else _decode_line,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )


_line_encoder = msgspec.json.Encoder(enc_hook=str)


def _encode_line(_: Any, __: str, event: MutableMapping[str, Any]) -> bytes:
    return _line_encoder.encode(event)


def _decode_line(_: Any, __: str, event: MutableMapping[str, Any]) -> str:
    return _line_encoder.encode(event).decode()


def request_logging(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: one line per HTTP request, with the outage id when the path names one."""
    fallback = structlog.get_logger("api.request")

    async def middleware(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_and_note)
        finally:
            path = mask(scope["path"])
            parts = path.split("/")
            outage_id = next((p for p in parts if p.startswith("OUT-")), None)
            (_request_log or fallback).info(
                "request",
                method=scope["method"],
                path=path,
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
                outage_id=outage_id,
            )

    return middleware
