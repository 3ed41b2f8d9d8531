"""SMS texts from the jinja2 templates in templates/sms/<language>/."""

from zoneinfo import ZoneInfo

import jinja2

from publishers.templates import environment
from schemas.customers import Customer
from schemas.kinds import ACCOUNT_KINDS
from schemas.notices import Notice
from schemas.sms import MAX_BODY_CHARS
from schemas.wording import LANGUAGES

DEFAULT_LANGUAGE = "zh-CN"


class SmsTexts:
    def __init__(self, zone: ZoneInfo, hotline: str, signature: str = "【国家电网】") -> None:
        self.zone = zone
        self.hotline = hotline
        self.signature = signature
        self.env = environment()

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
            zone=self.zone,
        )
        return " ".join(text.split())[:MAX_BODY_CHARS]


class _PreviewCustomer:
    account = "<account>"
