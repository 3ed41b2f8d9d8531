"""The delivery engine, one for every per-customer channel: audience -> batches -> a ledger entry per
(notice, recipient, channel) -> the channel's provider -> receipts; with quiet hours, rate caps,
opt-outs and the crash guarantees written once. A channel plugs in a provider and its texts
(publishers/channel.py); the jobs that run batches are in workers/delivery.py.

In flight: a send claimed by a worker that dies before recording the provider's answer may have
reached the provider. The batch runs again once the dead worker's lease on it lapses (JOB_LEASE),
and each such claim is reconciled with the provider: recorded if the provider has the message,
sent if it does not, `unconfirmed` (never sent again) only if the provider cannot say. At most
the channel's `concurrency` sends per batch job are in flight at any moment.
"""

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import msgspec
import structlog
from arq.connections import ArqRedis

from publishers.base import (
    TAKEN,
    AmbiguousProviderError,
    HandOver,
    MessageRef,
    PermanentProviderError,
    RetryableProviderError,
    UncertainProviderError,
)
from publishers.channel import Channel
from schemas.clock import Clock
from schemas.customers import Customer
from schemas.deliveries import Reach
from schemas.fanout import audience_rule, release_time
from schemas.kinds import ACCOUNT_KINDS, NoticeEvent
from schemas.notices import ORIGINAL_NOTICE, Notice, notice_of
from schemas.outage import Outage
from schemas.settings import Settings
from services.acknowledged import replicas_short
from services.jobs import batch_id, enqueue_batch
from store.affected import AccountOutages
from store.audience import Audience
from store.contacts import ContactStore
from store.customers import CustomerStore
from store.fanouts import FanoutWatch
from store.held import HeldBatch, HeldBatches
from store.ledger import DeliveryLedger
from store.optouts import OptOuts
from store.outages import OutageStore
from store.rate import RateLimiter

log = structlog.get_logger("services.delivery")
# A claim the replicas did not confirm is not sent; the batch tries again after this (the replica
# is catching up, or a failover is under way).
UNREPLICATED_PAUSE = timedelta(seconds=2)
# Batch jobs queued at once by a fan-out (each holds a connection while it enqueues).
ENQUEUES_AT_ONCE = 16


class BatchOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a batch run did, for the job to act on (a value, not an exception to interpret).

    `retry_after`: some sends were throttled or hit a server error: run the whole batch again then
    (the ledger skips the done). `remaining`: accounts not tried, because the batch's time ran out
    or (`waiting`) they have not yet had the outage notice this change follows; a new job sends to
    them, and neither uses up one of the batch's tries.
    """

    retry_after: timedelta | None = None
    remaining: list[str] = []
    waiting: bool = False


class Recipient(NamedTuple):
    """One message of a batch: the ledger's entry (the account, or 'account/contact' for one of
    its contacts), whose notice it is, and where and in which language it goes."""

    key: str
    customer: Customer
    address: str
    language: str
    # Not among the notice's counted recipients (a contact; anyone on a channel that does not
    # reach the whole audience): counted when it first enters the ledger.
    extra: bool = False


class SendOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One customer-requested message: its ledger status, or when to try again."""

    status: str = ""
    retry_after: timedelta | None = None


async def after_held_original(held: HeldBatches, channel: str, outage_id: str) -> datetime | None:
    """When a change may go if the outage notice itself is held for quiet hours: just after it.

    A change must not overtake the notice it changes, and waiting with it costs nothing, where
    looking again every minute all night would cost a job a minute.
    """
    original_release = await held.held_until(batch_id(channel, outage_id, ORIGINAL_NOTICE, 0))
    return None if original_release is None else original_release + timedelta(seconds=1)


async def _all_or_none_running(sends: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Runs the sends; if one fails (the store went away), the others are cancelled and finished
    before this raises that failure. A send left running after its job failed would claim and
    send next to the job's next run, which takes its claims for a dead run's and may send again."""
    try:
        async with asyncio.TaskGroup() as group:
            for send in sends:
                group.create_task(send)
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


class Fanout:
    """A channel's publisher: decides the audience and hands it to batch jobs (or holds them)."""

    def __init__(self, redis: ArqRedis, settings: Settings, clock: Clock, channel: Channel) -> None:
        self.redis = redis
        self.settings = settings
        self.clock = clock
        self.spec = channel
        self.ledger = DeliveryLedger(redis, channel.name)
        self.optouts = OptOuts(redis, channel.name)
        self.audience = Audience(redis)
        self.held = HeldBatches(redis)
        self.customers = CustomerStore(redis)

    @property
    def channel(self) -> str:
        return self.spec.name

    async def resolve_audience(self, notice: Notice) -> int:
        """How many the notice goes to, kept as the outage's audience."""
        outage = notice.outage
        if notice.event is not NoticeEvent.NEW and await self.audience.has_audience(outage.id):
            # Changes and restoration go to exactly those who were told of the outage.
            return await self.audience.audience_size(outage.id)
        rule = audience_rule(outage, self.settings.temporary_audience)
        return await self.audience.resolve_audience(self.customers, outage.id, outage.region, rule)

    async def preview_reach(self, notice: Notice) -> Reach:
        """Whom the notice would reach, opted out and reachable apart; nothing is stored."""
        outage = notice.outage
        existing = notice.event is not NoticeEvent.NEW and await self.audience.has_audience(outage.id)
        rule = None if existing else audience_rule(outage, self.settings.temporary_audience)
        per_account = outage.kind in ACCOUNT_KINDS
        spec_address = self.spec.address

        def address(customer: Customer) -> str:
            return (spec_address(customer) or "") if spec_address else ""

        return await self.audience.preview_reach(
            self.customers, outage.id, outage.region, rule, per_account, self.optouts, address
        )

    async def publish(self, notice: Notice, *, attempt: int = 0) -> HandOver:
        """Fan out; `attempt` > 0 runs the batches again under new job ids (the sweep of a stalled one)."""
        outage = notice.outage
        await FanoutWatch(self.redis).started(self.channel, outage.id, notice.id, self.clock())
        if attempt:
            await self._enqueue(notice, attempt)
            return TAKEN
        recipients = await self.resolve_audience(notice)
        # A channel reaching contacts only counts each as it enters the ledger.
        await self.ledger.set_recipients(outage.id, notice.id, recipients if self.spec.reach == "all" else 0)
        s = self.settings
        # The notice itself must arrive its lead time ahead; a reminder, before the start.
        lead = s.lead_times.get(outage.kind)
        deadline = outage.starts_at
        if notice.event is NoticeEvent.NEW and lead is not None:
            deadline -= lead.minimum
        release_at = None
        if self.spec.tuning.quiet_hours:
            release_at = release_time(
                outage.kind, notice.event, self.clock(), s.quiet_start, s.quiet_end, s.zone, deadline
            )
        if notice.event is not NoticeEvent.NEW:
            behind_original = await after_held_original(self.held, self.channel, outage.id)
            if behind_original is not None:
                release_at = behind_original
        if release_at is not None:
            for index, accounts in enumerate(await self._batches(outage)):
                held = HeldBatch(self.channel, outage.id, notice.id, accounts)
                await self.held.hold(batch_id(self.channel, outage.id, notice.id, index), held, release_at)
            return TAKEN
        await self._enqueue(notice, 0)
        return TAKEN

    async def _batches(self, outage: Outage) -> list[list[str]]:
        # A channel reaching contacts (or important customers) only batches those accounts.
        return await self.audience.audience_batches(
            outage.id, self.spec.tuning.batch_size, self.spec.reach, self.channel, outage.region
        )

    async def _enqueue(self, notice: Notice, attempt: int) -> None:
        outage, channel = notice.outage, self.channel
        # arq's enqueue is a few round trips (WATCH, checks, MULTI/EXEC): run many at once, so a
        # typhoon's thousands of batch jobs are queued in round trips shared between them.
        gate = asyncio.Semaphore(ENQUEUES_AT_ONCE)

        async def enqueue(index: int, accounts: list[str]) -> None:
            async with gate:
                await enqueue_batch(
                    self.redis,
                    self.settings.queue_name,
                    batch_id(channel, outage.id, notice.id, index, attempt),
                    HeldBatch(channel, outage.id, notice.id, accounts),
                )

        batches = await self._batches(outage)
        await _all_or_none_running(enqueue(index, accounts) for index, accounts in enumerate(batches))


class Sender:
    """Sends one batch on one channel: skips the opted out, those without an address and
    everything the ledger has seen, sends the rest."""

    def __init__(
        self,
        redis: ArqRedis,
        settings: Settings,
        channel: Channel,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.monotonic = monotonic
        self.spec = channel
        self.provider = channel.make_provider()
        self.texts = channel.texts
        self.clock = clock
        self.outages = OutageStore(redis)
        self.customers = CustomerStore(redis)
        self.ledger = DeliveryLedger(
            redis,
            channel.name,
            replicas=settings.redis_min_replicas,
            replica_timeout_ms=int(settings.redis_replica_timeout * 1000),
        )
        self.optouts = OptOuts(redis, channel.name)
        self.affected = AccountOutages(redis)
        self.contacts = ContactStore(redis)
        self.held = HeldBatches(redis)
        self.audience = Audience(redis)
        self.limiter = RateLimiter(redis, channel.name, self.provider.sender, channel.tuning.rate)
        self._rendered: dict[tuple[str, str, int, int, str], str] = {}

    async def send_batch(
        self, outage_id: str, notice_id: str, accounts: Sequence[str], run_id: str
    ) -> BatchOutcome:
        notice = notice_of(await self.outages.get(outage_id), notice_id)
        outage = notice.outage
        found = await self.customers.many(accounts)
        if outage.ends_at is not None:
            await self.affected.note_affected(accounts, outage_id, outage.restored_at or outage.ends_at)
        present = [c for c in found if c is not None]
        for account, customer in zip(accounts, found, strict=True):
            if customer is None:
                await self.ledger.advance(outage_id, notice_id, account, "removed", first=True)
        recipients: list[Recipient] = []
        contacts = await self.contacts.of_accounts([c.account for c in present])
        private = outage.kind in ACCOUNT_KINDS
        for customer in present:
            address = self.spec.address(customer) if self.spec.address else None
            if address:
                recipients.append(
                    Recipient(
                        customer.account, customer, address, customer.language, self.spec.reach != "all"
                    )
                )
            elif address is not None:
                await self.ledger.advance(outage_id, notice_id, customer.account, "no_address", first=True)
            # The account's verified contacts on this channel, each its own entry in the ledger.
            for contact in contacts.get(customer.account, []):
                wanted = not contact.events or notice.event in contact.events
                if (
                    contact.channel.value == self.spec.name
                    and wanted
                    and (contact.private_notices or not private)
                ):
                    key = f"{customer.account}/{contact.id}"
                    recipients.append(Recipient(key, customer, contact.address, contact.language, True))
        opted = await self.optouts.opted_out([r.address for r in recipients])
        reachable = []
        for recipient, opted_out in zip(recipients, opted, strict=True):
            if opted_out:
                await self.ledger.advance(
                    outage_id, notice_id, recipient.key, "opted_out", first=True, extra=recipient.extra
                )
            else:
                reachable.append(recipient)
        retry_after: list[timedelta] = []
        waiting: list[str] = []
        if notice.id != ORIGINAL_NOTICE:
            reachable, waiting = await self._after_original(outage_id, reachable)
        gate = asyncio.Semaphore(self.spec.tuning.concurrency)
        # Stop well before arq's job timeout: a timed-out job is failed, not retried, and its
        # unsent tail would wait for the stalled-fan-out sweep. Half the timeout, plus a send's
        # own limit (a quarter), stays inside it. The untried rest goes on in a new job rather
        # than a Retry, so a batch slowed by the rate cap does not use up its tries.
        budget_end = self.monotonic() + self.settings.job_timeout.total_seconds() / 2
        untried: list[str] = []
        started = 0

        async def send_one(recipient: Recipient) -> None:
            nonlocal started
            async with gate:
                # At least one send per run, so a chain of continuations always moves on.
                if started and self.monotonic() > budget_end:
                    untried.append(recipient.customer.account)
                    return
                started += 1
                # Claimed one at a time, just before sending: what a dead worker leaves claimed
                # is what it had in flight, at most the channel's concurrency per batch job.
                # The same text to the same address once: notices naming an account are per account.
                address = "" if private else recipient.address
                claim = await self.ledger.claim_one(
                    outage_id, notice_id, recipient.key, run_id, self.clock(), address, extra=recipient.extra
                )
                if claim.startswith("stale|"):
                    claim = await self._reconcile(notice, recipient, run_id, claim.removeprefix("stale|"))
                if claim == "unreplicated":
                    retry_after.append(UNREPLICATED_PAUSE)
                if claim != "claimed":
                    return
                retry = await self._send(notice, recipient, run_id)
                if retry is not None:
                    retry_after.append(retry)

        await _all_or_none_running(send_one(r) for r in reachable)
        if reachable and await replicas_short(self.redis, self.settings):
            # What this run recorded may die with the primary, leaving its claims 'sending' with
            # the job done: the job is not done until the replicas have it. The run after
            # reconciles those claims with the provider (nothing is sent twice).
            return BatchOutcome(retry_after=UNREPLICATED_PAUSE)
        if retry_after:
            # A rerun of the whole batch also covers the untried and the waiting: the ledger skips the done.
            return BatchOutcome(retry_after=max(retry_after))
        # An account goes on whole (the ledger skips those of its recipients already settled).
        rest = list(dict.fromkeys(untried + waiting))
        if waiting:
            return BatchOutcome(remaining=rest, waiting=True)
        return BatchOutcome(remaining=rest)

    async def send_one(
        self, address: str, body: str, language: str, topic: str, request: str, run_id: str
    ) -> SendOutcome:
        """One message asked for by a customer (the phone menu's "send me this"), on the same path
        as a notice's: the opt-out list, the ledger (once per `topic`/`request`), the rate cap."""
        if (await self.optouts.opted_out([address]))[0]:
            await self.ledger.advance(topic, request, address, "opted_out", first=True)
            return SendOutcome(status="opted_out")
        claim = await self.ledger.claim_one(topic, request, address, run_id, self.clock())
        if claim.startswith("stale|"):
            found = await self.provider.find(address, body, self.clock() - timedelta(hours=1))
            if found is not None:
                await self.ledger.record_sent(topic, request, address, found.status, found.sid, self.clock())
                return SendOutcome(status=found.status)
            if not await self.ledger.take_over(
                topic, request, address, claim.removeprefix("stale|"), run_id, self.clock()
            ):
                return SendOutcome(status="settled")
        elif claim == "unreplicated":
            return SendOutcome(retry_after=UNREPLICATED_PAUSE)
        elif claim != "claimed":
            return SendOutcome(status=claim)
        wait = await self.limiter.reserve(self.spec.cost(body))
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            sent = await self.provider.send(address, body, MessageRef(topic, request, "", language))
        except RetryableProviderError as exc:
            await self.ledger.release(topic, request, address, run_id)
            return SendOutcome(retry_after=exc.retry_after or timedelta(0))
        except PermanentProviderError as exc:
            await self.ledger.advance(topic, request, address, "failed", exc.code)
            return SendOutcome(status="failed")
        except AmbiguousProviderError as exc:
            await self.ledger.advance(topic, request, address, "unconfirmed", exc.code)
            return SendOutcome(status="unconfirmed")
        await self.ledger.record_sent(topic, request, address, sent.status, sent.sid, self.clock())
        if await replicas_short(self.redis, self.settings):
            return SendOutcome(retry_after=UNREPLICATED_PAUSE)
        return SendOutcome(status=sent.status)

    async def _reconcile(self, notice: Notice, recipient: Recipient, run_id: str, stale: str) -> str:
        """A dead run's claim: ask the provider whether that send reached it. Recorded if it did,
        'claimed' for this run to send if it did not, 'unconfirmed' (never sent again: at most once)
        if the provider cannot say."""
        outage_id, notice_id, key = notice.outage.id, notice.id, recipient.key
        _, _, claimed_at = stale.rpartition("@")
        since = datetime.fromtimestamp(int(claimed_at or 0), tz=UTC) - timedelta(minutes=5)
        try:
            found = await self.provider.find(recipient.address, self._text(notice, recipient), since)
        except Exception as exc:
            log.warning(
                "reconcile failed",
                channel=self.spec.name,
                outage_id=outage_id,
                notice_id=notice_id,
                error=str(exc),
            )
            await self.ledger.advance(outage_id, notice_id, key, "unconfirmed", "lookup_failed")
            return "unconfirmed"
        if found is not None:
            await self.ledger.record_sent(outage_id, notice_id, key, found.status, found.sid, self.clock())
            return "recorded"
        taken = await self.ledger.take_over(outage_id, notice_id, key, stale, run_id, self.clock())
        return "claimed" if taken else "settled"

    async def _after_original(
        self, outage_id: str, recipients: list[Recipient]
    ) -> tuple[list[Recipient], list[str]]:
        """Those whose outage notice is settled, and the accounts still waiting for it.

        A customer must read "postponed" after the notice it postpones, whatever order the batch
        jobs run in (quiet hours, retries, several workers). A contact added after the outage
        notice went out follows the account's own entry: it never had that notice to wait for.
        """
        sends = [(outage_id, ORIGINAL_NOTICE, r.key) for r in recipients]
        sends += [(outage_id, ORIGINAL_NOTICE, r.customer.account) for r in recipients]
        statuses = await self.ledger.statuses(sends)
        own, of_account = statuses[: len(recipients)], statuses[len(recipients) :]
        unsent = [r.customer.account for r, s in zip(recipients, own, strict=True) if s is None]
        told = dict(zip(unsent, await self.audience.told_by_report(outage_id, unsent), strict=True))
        ready: list[Recipient] = []
        waiting: list[str] = []
        for recipient, status, account_status in zip(recipients, own, of_account, strict=True):
            if recipient.extra and status is None:
                status = account_status
            if status == "sending" or (status is None and not told.get(recipient.customer.account, False)):
                waiting.append(recipient.customer.account)
            else:
                ready.append(recipient)
        return ready, waiting

    def _text(self, notice: Notice, recipient: Recipient) -> str:
        # Only the account kinds name the customer's account; the rest read the same for everyone
        # of a language, so a batch renders each language once.
        customer, language = recipient.customer, recipient.language
        if notice.outage.kind in ACCOUNT_KINDS:
            return self.texts.render(notice, customer, language)
        cache_key = (
            notice.outage.id,
            notice.id,
            notice.outage.revision,
            len(notice.outage.changes),
            language,
        )
        text = self._rendered.get(cache_key)
        if text is None:
            text = self._rendered[cache_key] = self.texts.render(notice, customer, language)
            if len(self._rendered) > 256:
                self._rendered.pop(next(iter(self._rendered)))
        return text

    async def _send(self, notice: Notice, recipient: Recipient, run_id: str) -> timedelta | None:
        outage_id, notice_id, key = notice.outage.id, notice.id, recipient.key
        body = self._text(notice, recipient)
        address = recipient.address
        wait = await self.limiter.reserve(self.spec.cost(body))
        if wait > 0:
            await asyncio.sleep(wait)
        ref = MessageRef(outage_id, notice_id, key, recipient.language)
        started = self.clock()
        try:
            sent = await self.provider.send(address, body, ref)
        except UncertainProviderError as exc:
            # A 5xx may come after the message was created: only send again if it does not exist.
            try:
                found = await self.provider.find(address, body, started)
            except Exception:
                await self.ledger.advance(outage_id, notice_id, key, "unconfirmed", exc.code)
                return None
            if found is not None:
                await self.ledger.record_sent(
                    outage_id, notice_id, key, found.status, found.sid, self.clock()
                )
                return None
            await self.ledger.release(outage_id, notice_id, key, run_id)
            return exc.retry_after or timedelta(0)
        except RetryableProviderError as exc:
            await self.ledger.release(outage_id, notice_id, key, run_id)
            return exc.retry_after or timedelta(0)
        except PermanentProviderError as exc:
            await self.ledger.advance(outage_id, notice_id, key, "failed", exc.code)
            if exc.opted_out:
                await self.optouts.set_opted_out(address, True)
            return None
        except AmbiguousProviderError as exc:
            await self.ledger.advance(outage_id, notice_id, key, "unconfirmed", exc.code)
            return None
        await self.ledger.record_sent(outage_id, notice_id, key, sent.status, sent.sid, self.clock())
        return None
