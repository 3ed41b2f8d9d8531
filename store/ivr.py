"""The phone menu's index: kept current at every publication, read in four round trips per call."""

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec
from redis.asyncio import Redis

from schemas.customers import Customer
from schemas.ivr import IvrOutage
from store import keys
from store.customers import CustomerStore

_decoder = msgspec.msgpack.Decoder(IvrOutage)
# Entries stay an hour past the expected end: a restoration notice may come a little late.
KEPT_AFTER_END = timedelta(hours=1)


class CallerOutages(msgspec.Struct):
    """What the menu knows of a caller: their accounts and the outages concerning each."""

    customers: list[Customer]
    # Outages by account; private kinds only under the accounts this number is registered on.
    outages: dict[str, list[IvrOutage]]


class IvrIndex:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.customers = CustomerStore(redis)

    async def save(
        self,
        outage: IvrOutage,
        *,
        feeders: Sequence[str],
        areas: Sequence[str],
        accounts: Sequence[str],
    ) -> None:
        end = outage.restored_at or outage.ends_at or outage.starts_at
        until = (end + KEPT_AFTER_END).timestamp()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.ivr_outages(), outage.id, msgspec.msgpack.encode(outage))  # type: ignore[arg-type]
            for key in (
                [keys.ivr_by_feeder(outage.region, f) for f in feeders]
                + [keys.ivr_by_area(outage.region, a) for a in areas]
                + [keys.ivr_by_account(a) for a in accounts]
            ):
                pipe.zadd(key, {outage.id: until})
                # Whoever writes a key sweeps what is over, so the sets never grow without end.
                pipe.zremrangebyscore(key, "-inf", (end - timedelta(days=30)).timestamp())
            await pipe.execute()

    async def _outages(self, index_keys: Sequence[str], now: datetime) -> list[IvrOutage]:
        if not index_keys:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in index_keys:
                pipe.zrangebyscore(key, now.timestamp(), "+inf")
            found = await pipe.execute()
        ids = sorted({i for ids in found for i in ids})
        if not ids:
            return []
        raws = await self.redis.hmget(keys.ivr_outages(), ids)
        return [_decoder.decode(r) for r in raws if r is not None]

    async def for_customer(self, customer: Customer, now: datetime, *, private: bool) -> list[IvrOutage]:
        """Outages on the customer's feeder or area; their account's own stoppages only if `private`."""
        index_keys = []
        if customer.feeder:
            index_keys.append(keys.ivr_by_feeder(customer.region, customer.feeder))
        if customer.transformer_area:
            index_keys.append(keys.ivr_by_area(customer.region, customer.transformer_area))
        if private:
            index_keys.append(keys.ivr_by_account(customer.account))
        outages = await self._outages(index_keys, now)
        return sorted(outages, key=lambda o: o.starts_at)

    async def for_caller(self, phone: str, now: datetime) -> CallerOutages:
        accounts = await self.customers.accounts_of_phone(phone)
        customers = [c for c in await self.customers.many(accounts) if c is not None]
        outages = {c.account: await self.for_customer(c, now, private=True) for c in customers}
        return CallerOutages(customers=customers, outages=outages)
