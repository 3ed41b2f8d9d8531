"""A per-customer channel as the delivery engine sees it: a provider, its texts, whose address it
uses, how a message counts against the rate cap, and its tuning. Registered in publishers/channels.py."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import msgspec

from publishers.base import Provider
from schemas.customers import Customer
from schemas.notices import Notice
from schemas.settings import Settings


class ChannelTuning(msgspec.Struct, frozen=True, kw_only=True):
    # Recipients per batch job, and sends in flight per batch job.
    batch_size: int
    concurrency: int
    # Rate units (see Channel.cost) per second per sending identity; 0: no cap.
    rate: float
    # The first retry pause of a batch, doubling per try up to a minute.
    retry_base: float
    # Held for quiet hours (a phone buzzing at night); a machine-to-machine channel is not.
    quiet_hours: bool


class Texts(Protocol):
    def render(self, notice: Notice, customer: Customer | None, language: str | None = None) -> str:
        """The message for one customer (naming only their own account), or a preview without one."""
        ...


@dataclass(frozen=True)
class Channel:
    name: str
    # Made only where messages are sent (a worker), not where notices are previewed (the API).
    make_provider: Callable[[], Provider]
    texts: Texts
    tuning: ChannelTuning
    # The customer's own address on this channel: "" when they have none (settled as
    # 'no_address'), None when this channel does not reach them themselves (voice calls reach
    # important customers only). No function: the registry holds no addresses for this channel;
    # only the account's verified contacts of the channel are reached.
    address: Callable[[Customer], str | None] | None
    # What one message costs against the rate cap (an SMS: its segments).
    cost: Callable[[str], int]
    # Whom of an outage's audience the fan-out goes through: "all", "contacts" (accounts with
    # contacts on this channel), "important_or_contacts" (those and important customers).
    reach: str = "all"


def tuning(settings: Settings, *, rate: float, quiet_hours: bool) -> ChannelTuning:
    """A channel's tuning: batches and concurrency as SMS's (SMS_BATCH_SIZE, SMS_CONCURRENCY,
    SMS_RETRY_BASE), its own rate cap and quiet-hours rule."""
    return ChannelTuning(
        batch_size=settings.sms_batch_size,
        concurrency=settings.sms_concurrency,
        rate=rate,
        retry_base=settings.sms_retry_base,
        quiet_hours=quiet_hours,
    )
