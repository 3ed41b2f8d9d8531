"""The email channel: the notice as plain text and HTML from templates/email/, handed to an SMTP
server (aiosmtplib) or, without one, to the local outbox; addresses are customers' verified email
contacts; never held for quiet hours; one-click unsubscribe (RFC 8058) in every message."""

import secrets
from datetime import datetime
from email import message_from_string, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

import aiosmtplib
from redis.asyncio import Redis

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
from publishers.templates import environment
from schemas.clock import Clock
from schemas.customers import Customer
from schemas.notices import Notice
from schemas.settings import Settings
from schemas.unsubscribe import unsubscribe_token
from schemas.wording import KIND_LABEL, LANGUAGES
from store.outbox import Outbox, OutboxMessage
from store.secrets import deployment_secret

# The secret behind one-click unsubscribe links (services/registration.py checks them).
UNSUBSCRIBE_SECRET = "unsubscribe"
EVENT_WORDS = {
    "zh-CN": {"new": "通知", "postponed": "改期", "cancelled": "取消", "restoration_delayed": "送电推迟",
              "restored": "已恢复供电", "reminder": "提醒", "started": "已开始"},
    "en": {"new": "notice", "postponed": "postponed", "cancelled": "called off",
           "restoration_delayed": "restoration delayed", "restored": "power restored", "reminder": "reminder",
           "started": "has begun"},
}  # fmt: skip


class EmailTexts:
    """The whole message but its recipient: subject, plain text and HTML, as RFC 5322 text.
    The sentence is the SMS template's (one wording per kind, event and language)."""

    def __init__(self, zone: ZoneInfo, hotline: str, base_url: str, sender: str) -> None:
        self.sentences = SmsTexts(zone, hotline, signature="")
        self.env = environment()
        self.hotline = hotline
        self.base_url = base_url
        self.sender = sender

    def render(self, notice: Notice, customer: Customer | None, language: str | None = None) -> str:
        language = language if language in LANGUAGES else (customer.language if customer else "zh-CN")
        assert language is not None
        outage = notice.outage
        subject = (
            f"{KIND_LABEL[language][outage.kind]} {EVENT_WORDS[language].get(notice.event.value, '')}: "
            f"{outage.area_description}"
        )[:200]
        values = {
            "subject": subject,
            "sentence": self.sentences.render(notice, customer, language),
            "outage": outage,
            "language": language,
            "hotline": self.hotline,
            "base_url": self.base_url,
            # The provider puts each recipient's own link in its place.
            "unsubscribe_url": "{unsubscribe_url}",
        }
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.sender
        message["Content-Language"] = language
        message.set_content(self.env.get_template("email/notice.txt.j2").render(values))
        message.add_alternative(self.env.get_template("email/notice.html.j2").render(values), subtype="html")
        return message.as_string()


class _Addressed:
    """What every email provider does to a rendered message: its recipient, id and unsubscribe link."""

    def __init__(self, redis: Redis, base_url: str, clock: Clock) -> None:
        self.redis = redis
        self.base_url = base_url
        self.clock = clock
        self._secret: bytes | None = None

    async def addressed(self, to: str, body: str) -> EmailMessage:
        if self._secret is None:
            self._secret = await deployment_secret(self.redis, UNSUBSCRIBE_SECRET)
        link = f"{self.base_url}/unsubscribe/{unsubscribe_token(self._secret, 'email', to)}"
        message = message_from_string(body.replace("{unsubscribe_url}", link), policy=policy.default)
        assert isinstance(message, EmailMessage)
        message["To"] = to
        message["Date"] = format_datetime(self.clock())
        message["Message-ID"] = make_msgid(idstring=secrets.token_hex(8), domain="notices.95598")
        # RFC 8058: mail clients offer a one-click unsubscribe that POSTs to the link.
        message["List-Unsubscribe"] = f"<{link}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return message


class SmtpProvider(_Addressed):
    def __init__(self, settings: Settings, redis: Redis, clock: Clock) -> None:
        super().__init__(redis, settings.public_base_url, clock)
        self.settings = settings

    @property
    def sender(self) -> str:
        return self.settings.email_from

    async def send(self, to: str, body: str, ref: MessageRef) -> SentMessage:
        message = await self.addressed(to, body)
        s = self.settings
        assert s.smtp_host
        try:
            await aiosmtplib.send(
                message, hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username,
                password=s.smtp_password, start_tls=s.smtp_starttls, timeout=10,
            )  # fmt: skip
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentProviderError("recipient_refused", str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 4xx: try later; 5xx: refused for good.
            if 400 <= exc.code < 500:
                raise RetryableProviderError(str(exc.code), exc.message) from exc
            raise PermanentProviderError(str(exc.code), exc.message) from exc
        except aiosmtplib.SMTPConnectError as exc:
            raise RetryableProviderError("connect", str(exc)) from exc
        except (aiosmtplib.SMTPException, TimeoutError, OSError) as exc:
            raise AmbiguousProviderError("no_answer", str(exc) or type(exc).__name__) from exc
        return SentMessage(sid=str(message["Message-ID"]))

    async def find(self, to: str, body: str, since: datetime) -> SentMessage | None:
        # SMTP cannot be asked what it took: a send a dead worker had in flight stays
        # 'unconfirmed' (never sent twice) rather than guessed.
        raise AmbiguousProviderError("no_lookup", "SMTP servers cannot be asked what they accepted")

    async def close(self) -> None:
        return None


class OutboxEmailProvider(_Addressed):
    """Without an SMTP server: emails kept in the local outbox (/dev/outbox) next to the SMS."""

    def __init__(self, outbox: Outbox, redis: Redis, base_url: str, clock: Clock, keep: int) -> None:
        super().__init__(redis, base_url, clock)
        self.outbox = outbox
        self.keep = keep

    @property
    def sender(self) -> str:
        return "outbox-email"

    async def send(self, to: str, body: str, ref: MessageRef) -> SentMessage:
        message = await self.addressed(to, body)
        sid = str(message["Message-ID"])
        text = message.get_body(preferencelist=("plain",))
        shown = f"{message['Subject']}\n\n{text.get_content() if text else ''}"
        await self.outbox.add(
            OutboxMessage(
                sid=sid, to=to, body=shown, segments=1, encoding="email", at=self.clock(),
                outage_id=ref.outage_id, notice_id=ref.notice_id, account=ref.account, language=ref.language,
            ),
            self.keep,
        )  # fmt: skip
        return SentMessage(sid=sid)

    async def find(self, to: str, body: str, since: datetime) -> SentMessage | None:
        return None

    async def close(self) -> None:
        return None


def email_provider(settings: Settings, redis: Redis, clock: Clock) -> Provider:
    if settings.smtp_host:
        return SmtpProvider(settings, redis, clock)
    return OutboxEmailProvider(Outbox(redis), redis, settings.public_base_url, clock, settings.outbox_max)


def email_channel(
    settings: Settings, redis: Redis, clock: Clock, provider: Provider | None = None
) -> Channel:
    """Email reaches only customers' verified email contacts (the registry holds no addresses)."""
    return Channel(
        name="email",
        make_provider=(lambda: provider) if provider else (lambda: email_provider(settings, redis, clock)),
        texts=EmailTexts(settings.zone, settings.hotline, settings.public_base_url, settings.email_from),
        tuning=tuning(settings, rate=settings.email_rate, quiet_hours=False),
        address=None,
        cost=lambda body: 1,
        reach="contacts",
    )
