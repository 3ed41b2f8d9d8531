"""Twilio Programmable Messaging through the SDK's async client."""

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from publishers.base import (
    AmbiguousProviderError,
    MessageRef,
    PermanentProviderError,
    RetryableProviderError,
    SentMessage,
    UncertainProviderError,
)

# Twilio error codes: https://www.twilio.com/docs/api/errors
TOO_MANY_REQUESTS = 20429
UNSUBSCRIBED_RECIPIENT = 21610

# Twilio's receipt statuses, in the ledger's words.
_LEDGER_STATUS = {
    "accepted": "accepted",
    "queued": "accepted",
    "sending": "accepted",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}


def ledger_status(twilio_status: str) -> str | None:
    """A status callback's MessageStatus as a ledger status; None: not one the ledger tracks."""
    return _LEDGER_STATUS.get(twilio_status)


class TwilioProvider:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        status_callback: str,
        api_base: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._http = AsyncTwilioHttpClient()
        self.client = Client(account_sid, auth_token, http_client=self._http)
        if api_base:
            self.client.api.base_url = api_base.rstrip("/")
        self._sender = sender
        self.status_callback = status_callback
        self.timeout = timeout

    @property
    def sender(self) -> str:
        return self._sender

    async def send(self, to: str, body: str, ref: MessageRef) -> SentMessage:
        try:
            async with asyncio.timeout(self.timeout):
                message = await self.client.messages.create_async(
                    to=to, from_=self._sender, body=body, status_callback=self.status_callback
                )
        except TwilioRestException as exc:
            code = exc.code or exc.status
            if exc.status == 429 or exc.code == TOO_MANY_REQUESTS:
                raise RetryableProviderError(str(code), exc.msg or "throttled") from exc
            if exc.status >= 500:
                raise UncertainProviderError(str(code), exc.msg or "server error") from exc
            raise PermanentProviderError(
                str(code), exc.msg or "refused", opted_out=exc.code == UNSUBSCRIBED_RECIPIENT
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            # Nothing reached Twilio: safe to send again.
            raise RetryableProviderError("connect", str(exc), retry_after=timedelta(seconds=5)) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise AmbiguousProviderError("no_answer", str(exc) or type(exc).__name__) from exc
        return SentMessage(sid=str(message.sid))

    async def find(self, to: str, body: str, since: datetime) -> SentMessage | None:
        """Twilio filters by day (UTC); the body tells this notice's message from others that day."""
        day = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
        async with asyncio.timeout(self.timeout):
            recent = await self.client.messages.list_async(to=to, date_sent_after=day, limit=50)
        for message in recent:
            if message.body == body:
                return SentMessage(sid=str(message.sid))
        return None

    async def close(self) -> None:
        await self._http.close()
