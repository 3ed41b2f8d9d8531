"""What the developer pages show: the local SMS outbox, and a demo caller with an outage to hear."""

from datetime import datetime

from redis.asyncio import Redis

from schemas.clock import Clock
from store.customers import CustomerStore
from store.held import HeldBatches
from store.ivr import IvrIndex
from store.ledger import DeliveryLedger
from store.outbox import Outbox, OutboxMessage


class OutboxPage:
    def __init__(
        self,
        total: int,
        messages: list[tuple[OutboxMessage, str | None]],
        held: int,
        release: datetime | None,
    ) -> None:
        self.total = total
        self.messages = messages
        self.held = held
        self.release = release


class DevService:
    def __init__(self, redis: Redis, clock: Clock) -> None:
        self.redis = redis
        self.clock = clock
        # The outbox keeps every channel's messages; each one's status is in its channel's ledger.
        self.ledgers = {name: DeliveryLedger(redis, name) for name in ("sms", "email", "voice")}

    async def outbox(self, offset: int, limit: int) -> OutboxPage:
        """A page of the outbox, newest first, each message with its ledger status; and what
        quiet hours hold back."""
        total, messages = await Outbox(self.redis).page(offset, limit)
        statuses = []
        for m in messages:
            ledger = self.ledgers.get(m.encoding, self.ledgers["sms"])
            statuses.append(await ledger.status_of(m.outage_id, m.notice_id, m.account))
        held, release = await HeldBatches(self.redis).held_summary()
        return OutboxPage(total, list(zip(messages, statuses, strict=True)), held, release)

    async def caller_with_an_outage(self, accounts: list[str]) -> str:
        """The phone of the first of `accounts` whose phone menu has an outage to tell, or ""."""
        customers, index = CustomerStore(self.redis), IvrIndex(self.redis)
        for account in accounts:
            customer = await customers.get(account)
            if customer is not None and await index.for_customer(customer, self.clock(), private=True):
                return customer.phone
        return ""
