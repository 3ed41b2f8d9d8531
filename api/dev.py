"""Pages for trying the service without real providers."""

from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Template
from redis.asyncio import Redis

from schemas.errors import NotFound
from schemas.settings import Settings
from store.sms import SmsLedger

PAGE_SIZE = 100


@get("/dev/outbox", include_in_schema=False)
async def outbox_page(
    redis: NamedDependency[Redis],
    settings: NamedDependency[Settings],
    page: Annotated[int, QueryParameter(ge=1)] = 1,
) -> Template:
    if settings.uses_twilio:
        raise NotFound("SMS go to Twilio: there is no local outbox", rule="outbox_enabled")
    ledger = SmsLedger(redis)
    total, messages = await ledger.outbox((page - 1) * PAGE_SIZE, PAGE_SIZE)
    statuses = await ledger.statuses([(m.outage_id, m.notice_id, m.account) for m in messages])
    return Template(
        template_name="web/dev_outbox.html",
        context={
            "messages": list(zip(messages, statuses, strict=True)),
            "total": total,
            "keep": settings.outbox_max,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "zone": settings.zone,
        },
    )
