"""The one jinja2 environment of every template: SMS texts, web pages, feeds, the error page.

HTML and XML are escaped, SMS texts are not (they are plain text); a name a template uses but is
not given is an error, not an empty string, so a missing word fails a test rather than a message.
"""

import functools
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@jinja2.pass_context
def _local(context: Any, moment: datetime | None, language: str) -> str:
    """A time as a message says it, in the zone the render was given."""
    if moment is None:
        return "—"
    local = moment.astimezone(context["zone"])
    if language == "en":
        return f"{local:%d %b %H:%M}"
    return f"{local.month}月{local.day}日{local:%H:%M}"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml", "atom"), default_for_string=False
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )
    env.filters["local"] = _local
    env.filters["shorten"] = _shorten
    return env
