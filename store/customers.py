"""The customer registry and the indexes that find who an outage affects."""

import secrets
from collections.abc import Callable, Iterable, Sequence

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from schemas.customers import Customer, address_key
from schemas.deliveries import Reach
from store import keys
from store.optouts import OptOuts

_encode = msgspec.msgpack.Encoder().encode
_decoder = msgspec.msgpack.Decoder(Customer)
# Rows written per round trip: large enough to amortise it, small enough to keep replies short.
BATCH = 2000


def _index_keys(customer: Customer) -> set[str]:
    found = {keys.accounts_of_phone(customer.phone)}
    if address_key(customer.address):
        found.add(keys.customers_at_address(address_key(customer.address)))
    if customer.feeder:
        found.add(keys.customers_on_feeder(customer.region, customer.feeder))
    if customer.transformer_area:
        found.add(keys.customers_in_area(customer.region, customer.transformer_area))
    if customer.important:
        found.add(keys.important_customers(customer.region))
    return found


class UpsertCounts(msgspec.Struct):
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # Accounts left alone because the registry has them in another region than the one acting.
    foreign: list[str] = []


class CustomerStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def upsert(self, customers: Sequence[Customer], region: str | None = None) -> UpsertCounts:
        """Insert or replace by account; a customer stored exactly so is not written again.

        With `region`, an account the registry holds in another region is not touched (it is
        listed in `foreign`): a key of one region must not take over another's customers.
        """
        counts = UpsertCounts()
        for start in range(0, len(customers), BATCH):
            await self._upsert_batch(customers[start : start + BATCH], counts, region)
        return counts

    async def _upsert_batch(
        self, batch: Sequence[Customer], counts: UpsertCounts, region: str | None
    ) -> None:
        # A file may name an account twice: the last row wins, as it would row by row.
        latest = {c.account: c for c in batch}
        names = [keys.customer(a) for a in latest]
        while True:
            found = UpsertCounts()
            # WATCH, then MULTI/EXEC: the stale index entries are computed from the stored record,
            # so a concurrent import of the same account makes this one start again instead of
            # leaving the other's phone linked. Also: a customer is never stored without its
            # index entries, and Redis writes the chunk to the AOF once (one fsync under `always`).
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(*names)
                    olds = await pipe.mget(names)
                    pipe.multi()
                    for customer, raw in zip(latest.values(), olds, strict=True):
                        self._queue_upsert(pipe, customer, raw, found, region)
                    await pipe.execute()
                except WatchError:
                    continue
            counts.inserted += found.inserted
            counts.updated += found.updated
            counts.unchanged += found.unchanged
            counts.foreign += found.foreign
            return

    @staticmethod
    def _queue_upsert(
        pipe: Pipeline, customer: Customer, raw: bytes | None, counts: UpsertCounts, region: str | None
    ) -> None:
        old = _decoder.decode(raw) if raw is not None else None
        if old is not None and region is not None and old.region != region:
            counts.foreign.append(customer.account)
            return
        if old == customer:
            counts.unchanged += 1
            return
        if old is None:
            counts.inserted += 1
            stale: set[str] = set()
        else:
            counts.updated += 1
            stale = _index_keys(old) - _index_keys(customer)
        pipe.set(keys.customer(customer.account), _encode(customer))
        for key in stale:
            pipe.srem(key, customer.account)
        for key in _index_keys(customer):
            pipe.sadd(key, customer.account)

    async def remove(self, accounts: Iterable[str], region: str | None = None) -> int:
        """Removes the accounts (with `region`: only those the registry holds in that region)."""
        removed = 0
        for account in accounts:
            async with self.redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(keys.customer(account))
                        raw = await pipe.get(keys.customer(account))
                        customer = None if raw is None else _decoder.decode(raw)
                        if customer is None or (region is not None and customer.region != region):
                            await pipe.reset()
                            break
                        pipe.multi()
                        pipe.delete(keys.customer(account))
                        for key in _index_keys(customer):
                            pipe.srem(key, account)
                        await pipe.execute()
                        removed += 1
                        break
                    except WatchError:
                        continue
        return removed

    async def get(self, account: str) -> Customer | None:
        raw = await self.redis.get(keys.customer(account))
        return None if raw is None else _decoder.decode(raw)

    async def many(self, accounts: Sequence[str]) -> list[Customer | None]:
        if not accounts:
            return []
        raws = await self.redis.mget([keys.customer(a) for a in accounts])
        return [None if r is None else _decoder.decode(r) for r in raws]

    async def supply_at_address(self, address: str) -> tuple[set[str], set[str]]:
        """The feeders and transformer areas of the customers registered at `address` (nothing
        about who they are)."""
        key = address_key(address)
        if not key:
            return set(), set()
        accounts = sorted(a.decode() for a in await self.redis.smembers(keys.customers_at_address(key)))
        found = [c for c in await self.many(accounts) if c is not None]
        return {c.feeder for c in found if c.feeder}, {
            c.transformer_area for c in found if c.transformer_area
        }

    async def count_in(self, region: str, *, feeder: str = "", transformer_area: str = "") -> int:
        """Accounts the registry has on a feeder or in a transformer area."""
        key = (
            keys.customers_in_area(region, transformer_area)
            if transformer_area
            else keys.customers_on_feeder(region, feeder)
        )
        return int(await self.redis.scard(key))

    async def accounts_of_phone(self, phone: str) -> list[str]:
        return sorted(a.decode() for a in await self.redis.smembers(keys.accounts_of_phone(phone)))

    async def resolve(
        self,
        dest: str,
        region: str,
        *,
        feeders: Sequence[str],
        transformer_areas: Sequence[str],
        accounts: Sequence[str],
        important_only: bool,
    ) -> int:
        """Store in `dest` the accounts of `region` on the feeders, areas or named; returns how many."""
        sources = [keys.customers_on_feeder(region, f) for f in feeders]
        sources += [keys.customers_in_area(region, t) for t in transformer_areas]
        named = [c.account for c in await self.many(list(accounts)) if c is not None and c.region == region]
        staging = keys.scratch(f"audience:{secrets.token_hex(8)}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(dest)
            if named:
                pipe.sadd(staging, *named)
                pipe.expire(staging, 60)
                sources.append(staging)
            if sources:
                pipe.sunionstore(dest, sources)
            if important_only:
                pipe.sinterstore(dest, [dest, keys.important_customers(region)])
            pipe.delete(staging)
            pipe.scard(dest)
            results = await pipe.execute()
        return int(results[-1])

    async def reach(
        self,
        accounts_key: str,
        *,
        per_account: bool,
        optouts: OptOuts,
        address: Callable[[Customer], str],
    ) -> Reach:
        """Who of the accounts in the set `accounts_key` a channel would reach: opted out, reachable
        (with an `address` on the channel) and how many messages (one per address).

        `per_account`: every account gets its own message (the text names the account).
        """
        members = sorted(m.decode() for m in await self.redis.smembers(accounts_key))
        found = Reach(recipients=len(members))
        addresses: set[str] = set()
        for start in range(0, len(members), BATCH):
            customers = [c for c in await self.many(members[start : start + BATCH]) if c is not None]
            contacts = [address(c) for c in customers]
            opted = await optouts.opted_out(contacts)
            for customer, contact, opted_out in zip(customers, contacts, opted, strict=True):
                if opted_out:
                    found.opted_out += 1
                elif contact:
                    found.reachable += 1
                    addresses.add(customer.account if per_account else contact)
        found.messages = len(addresses)
        return found
