"""SMS texts from the jinja2 templates in templates/sms/<language>/."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

from schemas.customers import Customer
from schemas.kinds import ACCOUNT_KINDS
from schemas.notices import Notice
from schemas.sms import MAX_BODY_CHARS
from schemas.wording import LANGUAGES

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_LANGUAGE = "zh-CN"


class SmsTexts:
    def __init__(self, zone: ZoneInfo, hotline: str, signature: str = "【国家电网】") -> None:
        self.zone = zone
        self.hotline = hotline
        self.signature = signature
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )
        self.env.filters["local"] = self._local
        self.env.filters["shorten"] = _shorten

    def _local(self, moment: datetime | None, language: str) -> str:
        if moment is None:
            return "—"
        local = moment.astimezone(self.zone)
        if language == "en":
            return f"{local:%d %b %H:%M}"
        return f"{local.month}月{local.day}日{local:%H:%M}"

    def _template(self, notice: Notice, language: str) -> jinja2.Template:
        names = [f"sms/{language}/{notice.event.value}.j2"]
        if notice.outage.kind in ACCOUNT_KINDS:
            names.insert(0, f"sms/{language}/{notice.event.value}.account.j2")
        return self.env.select_template(names)

    def render(self, notice: Notice, customer: Customer | None, language: str | None = None) -> str:
        """The text for one customer (their own account only), or a preview without one."""
        language = language or (customer.language if customer else DEFAULT_LANGUAGE)
        if language not in LANGUAGES:
            language = DEFAULT_LANGUAGE
        text = self._template(notice, language).render(
            outage=notice.outage,
            change=notice.change,
            customer=customer or _PreviewCustomer(),
            hotline=self.hotline,
            signature=self.signature,
        )
        return " ".join(text.split())[:MAX_BODY_CHARS]


class _PreviewCustomer:
    account = "<account>"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
