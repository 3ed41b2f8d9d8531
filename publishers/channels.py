"""The per-customer channels the delivery engine sends on: one line each."""

from collections.abc import Callable

from redis.asyncio import Redis

from publishers.channel import Channel
from publishers.email import email_channel
from publishers.sms import sms_channel
from publishers.voice import voice_channel
from schemas.clock import Clock
from schemas.settings import Settings

ChannelFactory = Callable[[Settings, Redis, Clock], Channel]

CHANNELS: dict[str, ChannelFactory] = {
    "sms": sms_channel,
    "email": email_channel,
    "voice": voice_channel,
}


def build_channels(settings: Settings, redis: Redis, clock: Clock) -> list[Channel]:
    return [factory(settings, redis, clock) for factory in CHANNELS.values()]
