"""The voice channel: important customers (and anyone who chose calls) are called; the call reads
the notice in their language and asks them to press 1 to confirm (TwiML at /twilio/voice/*).
Twilio Calls when configured, else the local outbox. What happens after the call is placed
(confirmation, retries, the flag for a person to call) is services/voice.py."""

from datetime import datetime
from urllib.parse import urlencode

from redis.asyncio import Redis
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from publishers.base import (
    AmbiguousProviderError,
    MessageRef,
    PermanentProviderError,
    Provider,
    RetryableProviderError,
    SentMessage,
)
from publishers.channel import Channel, tuning
from publishers.sms_text import SmsTexts
from schemas.clock import Clock
from schemas.customers import Customer
from schemas.settings import Settings
from store.outbox import Outbox, OutboxMessage


def call_query(ref: MessageRef, attempt: int = 1) -> str:
    """What the voice webhooks are told of a call: its notice, ledger entry, language, try."""
    return urlencode(
        {"o": ref.outage_id, "n": ref.notice_id, "k": ref.account, "lang": ref.language, "try": attempt}
    )


class TwilioCalls:
    def __init__(self, settings: Settings) -> None:
        assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
        self._http = AsyncTwilioHttpClient()
        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=self._http)
        if settings.twilio_api_base:
            self.client.api.base_url = settings.twilio_api_base.rstrip("/")
        self.settings = settings

    @property
    def sender(self) -> str:
        return f"calls:{self.settings.twilio_from}"

    async def call(self, to: str, ref: MessageRef, attempt: int) -> SentMessage:
        base, query = self.settings.public_base_url, call_query(ref, attempt)
        try:
            call = await self.client.calls.create_async(
                to=to,
                from_=self.settings.twilio_from,
                url=f"{base}/twilio/voice/notice?{query}",
                status_callback=f"{base}/twilio/voice/status?{query}",
                status_callback_event=["completed"],
                timeout=30,
            )
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise RetryableProviderError(str(exc.code or exc.status), exc.msg or "try later") from exc
            raise PermanentProviderError(str(exc.code or exc.status), exc.msg or "refused") from exc
        except (TimeoutError, OSError) as exc:
            raise AmbiguousProviderError("no_answer", str(exc) or type(exc).__name__) from exc
        return SentMessage(sid=str(call.sid), status="calling")

    async def send(self, to: str, body: str, ref: MessageRef) -> SentMessage:
        return await self.call(to, ref, 1)

    async def find(self, to: str, body: str, since: datetime) -> SentMessage | None:
        # Whether a dead worker's call went out is not worth a lookup: left 'unconfirmed', and
        # the review queue shows important customers whose calls were not confirmed.
        raise AmbiguousProviderError("no_lookup", "calls are not looked up")

    async def close(self) -> None:
        await self._http.close()


class OutboxCalls:
    """Without Twilio: the call is written to the local outbox (what it would say)."""

    def __init__(self, outbox: Outbox, clock: Clock, keep: int) -> None:
        self.outbox = outbox
        self.clock = clock
        self.keep = keep

    @property
    def sender(self) -> str:
        return "outbox-calls"

    async def call(self, to: str, ref: MessageRef, attempt: int, body: str = "") -> SentMessage:
        sid = f"CAOB{ref.outage_id[-8:]}{attempt}{to[-4:]}"
        await self.outbox.add(
            OutboxMessage(sid=sid, to=to, body=body or "(call)", segments=1, encoding="voice", at=self.clock(),
                          outage_id=ref.outage_id, notice_id=ref.notice_id, account=ref.account,
                          language=ref.language),
            self.keep,
        )  # fmt: skip
        return SentMessage(sid=sid, status="calling")

    async def send(self, to: str, body: str, ref: MessageRef) -> SentMessage:
        return await self.call(to, ref, 1, body)

    async def find(self, to: str, body: str, since: datetime) -> SentMessage | None:
        return None

    async def close(self) -> None:
        return None


def calls(settings: Settings, redis: Redis, clock: Clock) -> TwilioCalls | OutboxCalls:
    if settings.uses_twilio:
        return TwilioCalls(settings)
    return OutboxCalls(Outbox(redis), clock, settings.outbox_max)


def voice_provider(settings: Settings, redis: Redis, clock: Clock) -> Provider:
    return calls(settings, redis, clock)


def _important(customer: Customer) -> str | None:
    # The rules address important customers of temporary outages directly (seed 003); others are
    # called only if they chose calls (a voice contact).
    return customer.phone if customer.important else None


def voice_channel(
    settings: Settings, redis: Redis, clock: Clock, provider: Provider | None = None
) -> Channel:
    return Channel(
        name="voice",
        make_provider=(lambda: provider) if provider else (lambda: voice_provider(settings, redis, clock)),
        texts=SmsTexts(settings.zone, settings.hotline, signature=""),
        tuning=tuning(settings, rate=0.0, quiet_hours=True),
        address=_important,
        cost=lambda body: 1,
        reach="important_or_contacts",
    )
