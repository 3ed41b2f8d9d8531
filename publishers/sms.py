"""The SMS channel: Twilio when configured (else the local outbox), the texts in templates/sms/,
the customer's registry phone, a message costing its segments against SMS_RATE."""

from redis.asyncio import Redis

from publishers.base import Provider
from publishers.channel import Channel, ChannelTuning, tuning
from publishers.sms_providers.outbox import OutboxProvider
from publishers.sms_providers.twilio import TwilioProvider
from publishers.sms_text import SmsTexts
from schemas.clock import Clock
from schemas.customers import Customer
from schemas.settings import Settings
from schemas.sms import sms_size
from store.outbox import Outbox


def sms_provider(settings: Settings, redis: Redis, clock: Clock) -> Provider:
    if settings.uses_twilio:
        assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
        return TwilioProvider(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_from,
            status_callback=f"{settings.public_base_url}/twilio/sms/status",
            api_base=settings.twilio_api_base,
            # A send must end well inside the job's time, or arq fails the whole batch.
            timeout=max(1.0, min(30.0, settings.job_timeout.total_seconds() / 4)),
        )
    return OutboxProvider(Outbox(redis), clock, settings.outbox_max)


def sms_tuning(settings: Settings) -> ChannelTuning:
    return tuning(settings, rate=settings.sms_rate, quiet_hours=True)


def sms_texts(settings: Settings) -> SmsTexts:
    return SmsTexts(settings.zone, settings.hotline, settings.sms_signature)


def _phone(customer: Customer) -> str:
    return customer.phone


def _segments(body: str) -> int:
    return sms_size(body).segments


def sms_channel(settings: Settings, redis: Redis, clock: Clock, provider: Provider | None = None) -> Channel:
    """`provider` replaces the configured one (tests)."""
    return Channel(
        name="sms",
        make_provider=(lambda: provider) if provider else (lambda: sms_provider(settings, redis, clock)),
        texts=sms_texts(settings),
        tuning=sms_tuning(settings),
        address=_phone,
        cost=_segments,
    )
