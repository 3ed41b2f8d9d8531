"""Anyone subscribes a phone or email to the public notices of a street address, feeder or
transformer area, with double opt-in: a code sent to that phone or email must come back. Only
public kinds are sent (never an account's own stoppages); SMS waits for the end of quiet hours."""

import hmac
import secrets
from datetime import timedelta
from email.message import EmailMessage

import msgspec
from arq.connections import ArqRedis

from publishers.base import TAKEN, HandOver
from publishers.channels import build_channels
from schemas.clock import Clock
from schemas.contacts import (
    CODE_DIGITS,
    CODE_TTL,
    CODE_WINDOW,
    MAX_ATTEMPTS,
    MAX_CODES,
    AreaConfirmation,
    AreaSubscription,
    AreaSubscriptionRequest,
    ContactChannel,
    code_digest,
    code_matches_digest,
)
from schemas.errors import NotFound, TooManyRequests, Unprocessable
from schemas.fanout import release_time
from schemas.kinds import NoticeEvent
from schemas.notices import Notice
from schemas.public import is_public
from schemas.settings import Settings
from services.jobs import enqueue_message
from services.registration import normalised
from store.area_subscriptions import AreaSubscriptionStore
from store.contacts import ContactStore
from store.customers import CustomerStore

# The ledger's "outage" of the opt-in codes, and of the notices sent to area subscribers.
AREA_CODES = "area-codes"


class AreaCodeSent(msgspec.Struct, kw_only=True):
    id: str
    covers: list[str]
    expires_in_seconds: int


class AreaConfirmed(msgspec.Struct, kw_only=True):
    subscription: AreaSubscription
    # Shown once: with it the subscriber removes the subscription (header X-Contact-Token).
    token: str


def _shown(subscription: AreaSubscription) -> AreaSubscription:
    return msgspec.structs.replace(subscription, code_sha256="", token_sha256="")


def _code_email(to_language: str, code: str, sender: str) -> str:
    message = EmailMessage()
    english = to_language == "en"
    message["Subject"] = "Confirm your outage notices" if english else "确认订阅停电通知"
    message["From"] = sender
    message.set_content(
        f"Your code: {code} (valid 10 minutes). Ignore this if you did not ask for outage notices."
        if english
        else f"验证码：{code}（10分钟内有效）。如非本人订阅请忽略。"
    )
    return message.as_string()


class AreaSubscriptionService:
    def __init__(self, settings: Settings, redis: ArqRedis, clock: Clock) -> None:
        self.settings = settings
        self.queue = redis
        self.clock = clock
        self.store = AreaSubscriptionStore(redis)
        self.customers = CustomerStore(redis)
        self.rate = ContactStore(redis)
        self.texts = {c.name: c.texts for c in build_channels(settings, redis, clock)}

    async def request(self, request: AreaSubscriptionRequest) -> AreaCodeSent:
        given = [v for v in (request.street_address, request.feeder, request.transformer_area) if v]
        if len(given) != 1:
            raise Unprocessable("give exactly one of street_address, feeder, transformer_area",
                                field="street_address", rule="one_place")  # fmt: skip
        if request.channel is ContactChannel.VOICE:
            raise Unprocessable("areas are followed by SMS or email", field="channel", rule="sms_or_email")
        address = normalised(request.channel, request.address)
        feeders: list[str] = []
        areas: list[str] = []
        if request.street_address:
            found_feeders, found_areas = await self.customers.supply_at_address(request.street_address)
            feeders, areas = sorted(found_feeders), sorted(found_areas)
            if not feeders and not areas:
                raise Unprocessable("no supply is registered at this street address",
                                    field="street_address", rule="known_address")  # fmt: skip
        elif request.feeder:
            if not await self.customers.count_in(request.region, feeder=request.feeder):
                raise Unprocessable(f"no feeder {request.feeder} in region {request.region}", field="feeder",
                                    rule="known_feeder")  # fmt: skip
            feeders = [request.feeder]
        elif request.transformer_area:
            if not await self.customers.count_in(request.region, transformer_area=request.transformer_area):
                raise Unprocessable(f"no transformer area {request.transformer_area} in region {request.region}",
                                    field="transformer_area", rule="known_area")  # fmt: skip
            areas = [request.transformer_area]
        if await self.rate.count_request("address", address, CODE_WINDOW) > MAX_CODES:
            raise TooManyRequests(f"at most {MAX_CODES} codes an hour per address: try again later",
                                  field="address", rule="code_rate")  # fmt: skip
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        now = self.clock()
        subscription = AreaSubscription(
            id=f"as_{secrets.token_hex(8)}",
            region=request.region,
            channel=request.channel,
            address=address,
            language=request.language,
            feeders=feeders,
            transformer_areas=areas,
            asked_for=given[0],
            code_sha256=code_digest(code),
            expires_at=now + CODE_TTL,
        )
        await self.store.hold(subscription, CODE_TTL)
        if request.channel is ContactChannel.EMAIL:
            body = _code_email(request.language, code, self.settings.email_from)
        else:
            body = (
                f"State Grid outage notices for {given[0]}: your code is {code} (10 minutes)."
                if request.language == "en"
                else f"{self.settings.sms_signature}您正在订阅{given[0]}的停电通知，验证码{code}，10分钟内有效。"
            )
        await enqueue_message(self.queue, self.settings.queue_name, address, body, request.language, AREA_CODES,
                              subscription.id, channel=request.channel.value)  # fmt: skip
        return AreaCodeSent(
            id=subscription.id, covers=feeders + areas, expires_in_seconds=int(CODE_TTL.total_seconds())
        )

    async def confirm(self, confirmation: AreaConfirmation) -> AreaConfirmed:
        subscription = await self.store.get(confirmation.id)
        if subscription is None or subscription.confirmed_at is not None:
            raise NotFound(
                "no subscription is waiting for this code (or it expired)", field="id", rule="pending"
            )
        now = self.clock()
        if not code_matches_digest(confirmation.code, subscription.code_sha256, subscription.expires_at, now):
            tries = subscription.attempts + 1
            if tries >= MAX_ATTEMPTS:
                await self.store.remove(subscription)
                raise Unprocessable(
                    "wrong code too many times: ask for a new one", field="code", rule="attempts"
                )
            await self.store.change(subscription.id, msgspec.structs.replace(subscription, attempts=tries))
            raise Unprocessable(f"wrong code ({MAX_ATTEMPTS - tries} tries left)", field="code", rule="match")
        token = secrets.token_urlsafe(24)
        confirmed = msgspec.structs.replace(subscription, confirmed_at=now, token_sha256=code_digest(token))
        await self.store.confirm(confirmed)
        return AreaConfirmed(subscription=_shown(confirmed), token=token)

    async def remove(self, subscription_id: str, token: str) -> None:
        subscription = await self.store.get(subscription_id)
        if (
            subscription is None
            or not subscription.token_sha256
            or not hmac.compare_digest(subscription.token_sha256, code_digest(token))
        ):
            raise NotFound(f"no subscription {subscription_id} with this token", field="token", rule="token")
        await self.store.remove(subscription)

    async def publish(self, notice: Notice) -> int:
        """A public notice to every confirmed subscriber of its feeders and areas, once each."""
        outage = notice.outage
        if not is_public(outage.kind):
            return 0
        subscribers = await self.store.covering(
            outage.region, outage.scope.feeders, outage.scope.transformer_areas
        )
        s, now = self.settings, self.clock()
        lead = s.lead_times.get(outage.kind)
        deadline = outage.starts_at - (
            lead.minimum if notice.event is NoticeEvent.NEW and lead else timedelta(0)
        )
        held = release_time(outage.kind, notice.event, now, s.quiet_start, s.quiet_end, s.zone, deadline)
        for subscriber in subscribers:
            body = self.texts[subscriber.channel.value].render(notice, None, subscriber.language)
            await enqueue_message(
                self.queue, s.queue_name, subscriber.address, body, subscriber.language,
                f"area:{outage.id}:{notice.id}", subscriber.id, channel=subscriber.channel.value,
                defer_until=held if subscriber.channel is ContactChannel.SMS else None,
            )  # fmt: skip
        return len(subscribers)


class AreaPublisher:
    """The publish job's channel for area subscribers."""

    def __init__(self, service: AreaSubscriptionService) -> None:
        self.service = service

    @property
    def channel(self) -> str:
        return "area_subscribers"

    async def publish(self, notice: Notice) -> HandOver:
        await self.service.publish(notice)
        return TAKEN
