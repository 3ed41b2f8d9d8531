"""The customer registry and the indexes that find who an outage affects."""

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Sequence

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError, WatchError

from schemas.customers import Customer, address_key
from schemas.deliveries import Reach
from store import keys
from store.optouts import OptOuts

# Rows written per round trip: large enough to amortise it, small enough to keep replies short.
BATCH = 2000


class StoredCustomer(msgspec.Struct, array_like=True, frozen=True):
    """A customer as the registry keeps it: a msgpack array without field names (the account is
    the hash field). store/ivr.py reads region, feeder and area by position in Lua."""

    name: str
    phone: str
    region: str
    feeder: str
    transformer_area: str
    important: bool
    language: str
    address: str = ""


_encode = msgspec.msgpack.Encoder().encode
_decoder = msgspec.msgpack.Decoder(StoredCustomer)


def encode_customer(customer: Customer) -> bytes:
    return _encode(
        StoredCustomer(
            customer.name, customer.phone, customer.region, customer.feeder,
            customer.transformer_area, customer.important, customer.language, customer.address,
        )
    )  # fmt: skip


def decode_customer(account: str, raw: bytes) -> Customer:
    s = _decoder.decode(raw)
    return Customer(
        account=account, name=s.name, phone=s.phone, region=s.region, feeder=s.feeder,
        transformer_area=s.transformer_area, important=s.important, language=s.language, address=s.address,
    )  # fmt: skip


def address_digest(key: str) -> str:
    """An address key in 16 characters: the index entry's size does not grow with the address."""
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def glob_literal(text: str) -> str:
    """`text` matched literally in a Redis glob pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


# An index entry: ("set", key, member) or ("field", hash key, field).
Entry = tuple[str, str, str]


def _index_entries(customer: Customer) -> set[Entry]:
    account = customer.account
    found: set[Entry] = {("field", keys.phone_index(customer.phone), f"{customer.phone}|{account}")}
    if address_key(customer.address):
        digest = address_digest(address_key(customer.address))
        found.add(("field", keys.address_index(digest), f"{digest}|{account}"))
    if customer.feeder or customer.transformer_area:
        supplied = keys.customers_supplied(customer.region, customer.feeder, customer.transformer_area)
        found.add(("set", supplied, account))
    if customer.important:
        found.add(("set", keys.important_customers(customer.region), account))
    return found


def _supply_entries(customer: Customer) -> list[Entry]:
    """Which feeder-and-area sets exist: added, never removed (an emptied set unions to nothing)."""
    found: list[Entry] = []
    if customer.feeder or customer.transformer_area:
        found.append(
            ("set", keys.areas_of_feeder(customer.region, customer.feeder), customer.transformer_area)
        )
        found.append(
            ("set", keys.feeders_of_area(customer.region, customer.transformer_area), customer.feeder)
        )
    return found


class _Writes:
    """A chunk's writes, one command per key: the customers of a chunk share their feeder and
    area sets, so a million rows make about half the commands they would one by one. Removals go
    first; an entry names its account, so one customer's stale entry is never another's new one."""

    def __init__(self) -> None:
        self.fields: dict[str, dict[str, bytes | str]] = {}
        self.removed: dict[tuple[str, str], list[str]] = {}
        self.added: dict[tuple[str, str], dict[str, None]] = {}
        # Customers gained (or lost) per region.
        self.regions: dict[str, int] = {}

    def count(self, region: str, change: int) -> None:
        self.regions[region] = self.regions.get(region, 0) + change

    def set_field(self, key: str, field: str, value: bytes | str) -> None:
        self.fields.setdefault(key, {})[field] = value

    def remove(self, entry: Entry) -> None:
        kind, key, member = entry
        self.removed.setdefault((kind, key), []).append(member)

    def add(self, entry: Entry) -> None:
        kind, key, member = entry
        self.added.setdefault((kind, key), {})[member] = None

    def queue(self, pipe: Pipeline) -> None:
        for (kind, key), members in self.removed.items():
            if kind == "set":
                pipe.srem(key, *members)
            else:
                pipe.hdel(key, *members)
        for key, mapping in self.fields.items():
            pipe.hset(key, mapping=mapping)
        for (kind, key), added in self.added.items():
            if kind == "set":
                pipe.sadd(key, *added)
            else:
                pipe.hset(key, mapping=dict.fromkeys(added, ""))
        for region, change in self.regions.items():
            if change:
                pipe.hincrby(keys.region_customer_counts(), region, change)


def _remove(pipe: Pipeline, entry: Entry) -> None:
    kind, key, member = entry
    if kind == "set":
        pipe.srem(key, member)
    else:
        pipe.hdel(key, member)


# The server settings that keep the registry's buckets compact (store/embedded.py sets them).
COMPACT_ENCODING = {
    "hash-max-listpack-entries": 1024,
    "hash-max-listpack-value": 512,
    "set-max-listpack-entries": 1024,
    "set-max-intset-entries": 1024,
}


async def encoding_shortfalls(redis: Redis) -> dict[str, int]:
    """The compact-encoding settings this server has below COMPACT_ENCODING (empty: all fine, or
    the server does not let us look, as some managed services do not)."""
    found: dict[str, int] = {}
    try:
        for name, wanted in COMPACT_ENCODING.items():
            value = (await redis.config_get(name)).get(name)
            if value is not None and int(value) < wanted:
                found[name] = int(value)
    except ResponseError:
        return {}
    return found


# Many customers in one command (one EVALSHA of N arguments packs far faster than N HGETs):
# the bucket is keys.bucket_of's, computed in Lua (tests/test_customers.py checks they agree).
# It builds key names inside the script, so it needs a single Redis, not a sharded cluster.
_MANY = (
    keys.BUCKET_OF_LUA
    + """
local found = {}
for i = 2, #ARGV do
  found[#found + 1] = redis.call('HGET', ARGV[1] .. bucket_of(ARGV[i]), ARGV[i]) or ''
end
return found
"""
)


class UpsertCounts(msgspec.Struct):
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # Accounts left alone because the registry has them in another region than the one acting.
    foreign: list[str] = []


class CustomerStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._many = redis.register_script(_MANY)

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
        buckets = sorted({keys.customer_bucket(a) for a in latest})
        while True:
            found = UpsertCounts()
            # WATCH, then MULTI/EXEC: the stale index entries are computed from the stored record,
            # so a concurrent change in the same buckets makes this one start again instead of
            # leaving the other's phone linked. The stored records are read after the WATCH (on
            # another connection, pipelined). A customer is never stored without its index
            # entries, and Redis writes the chunk to the AOF once (one fsync under `always`).
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(*buckets)
                    olds = await self._raw_many(list(latest))
                    pipe.multi()
                    writes = _Writes()
                    for customer, raw in zip(latest.values(), olds, strict=True):
                        self._plan_upsert(writes, customer, raw, found, region)
                    writes.queue(pipe)
                    await pipe.execute()
                except WatchError:
                    continue
            counts.inserted += found.inserted
            counts.updated += found.updated
            counts.unchanged += found.unchanged
            counts.foreign += found.foreign
            return

    @staticmethod
    def _plan_upsert(
        writes: "_Writes", customer: Customer, raw: bytes | None, counts: UpsertCounts, region: str | None
    ) -> None:
        old = decode_customer(customer.account, raw) if raw is not None else None
        if old is not None and region is not None and old.region != region:
            counts.foreign.append(customer.account)
            return
        if old == customer:
            counts.unchanged += 1
            return
        if old is None:
            counts.inserted += 1
            stale: set[Entry] = set()
            writes.count(customer.region, 1)
        else:
            counts.updated += 1
            stale = _index_entries(old) - _index_entries(customer)
            if old.region != customer.region:
                writes.count(old.region, -1)
                writes.count(customer.region, 1)
        writes.set_field(keys.customer_bucket(customer.account), customer.account, encode_customer(customer))
        for entry in stale:
            writes.remove(entry)
        for entry in [*_index_entries(customer), *_supply_entries(customer)]:
            writes.add(entry)

    async def remove(self, accounts: Iterable[str], region: str | None = None) -> int:
        """Removes the accounts (with `region`: only those the registry holds in that region)."""
        removed = 0
        for account in accounts:
            bucket = keys.customer_bucket(account)
            async with self.redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(bucket)
                        raw = await pipe.hget(bucket, account)
                        customer = None if raw is None else decode_customer(account, raw)
                        if customer is None or (region is not None and customer.region != region):
                            await pipe.reset()
                            break
                        pipe.multi()
                        pipe.hdel(bucket, account)
                        pipe.hincrby(keys.region_customer_counts(), customer.region, -1)
                        for entry in _index_entries(customer):
                            _remove(pipe, entry)
                        await pipe.execute()
                        removed += 1
                        break
                    except WatchError:
                        continue
        return removed

    async def registered(self, regions: Sequence[str]) -> dict[str, int]:
        """How many customers the registry holds in each region."""
        if not regions:
            return {}
        found = await self.redis.hmget(keys.region_customer_counts(), list(regions))
        return {r: int(n or 0) for r, n in zip(regions, found, strict=True)}

    async def get(self, account: str) -> Customer | None:
        raw = await self.redis.hget(keys.customer_bucket(account), account)
        return None if raw is None else decode_customer(account, raw)

    async def _raw_many(self, accounts: Sequence[str]) -> list[bytes | None]:
        if not accounts:
            return []
        found = await self._many(keys=[], args=[keys.customers_prefix(), *accounts])
        return [raw or None for raw in found]

    async def many(self, accounts: Sequence[str]) -> list[Customer | None]:
        if not accounts:
            return []
        raws = await self._raw_many(accounts)
        return [None if r is None else decode_customer(a, r) for a, r in zip(accounts, raws, strict=True)]

    async def _linked(self, index: str, prefix: str) -> list[str]:
        """The accounts of the fields '{prefix}|{account}' of an index hash (one call for a
        listpack-encoded bucket, which HSCAN returns whole)."""
        found: list[str] = []
        cursor = 0
        pattern = f"{glob_literal(prefix)}|*"
        while True:
            # Not NOVALUES (Redis 7.4 / Valkey 8 only): the values are empty anyway.
            cursor, fields = await self.redis.hscan(index, cursor, match=pattern, count=10_000)
            found += [f.decode().rpartition("|")[2] for f in fields]
            if cursor == 0:
                return sorted(set(found))

    async def supply_at_address(self, address: str) -> tuple[set[str], set[str]]:
        """The feeders and transformer areas of the customers registered at `address` (nothing
        about who they are)."""
        key = address_key(address)
        if not key:
            return set(), set()
        digest = address_digest(key)
        accounts = await self._linked(keys.address_index(digest), digest)
        # The digest could, in theory, be another address's: the record says.
        found = [c for c in await self.many(accounts) if c is not None and address_key(c.address) == key]
        return {c.feeder for c in found if c.feeder}, {
            c.transformer_area for c in found if c.transformer_area
        }

    async def _supplied_sets(self, region: str, feeders: Sequence[str], areas: Sequence[str]) -> list[str]:
        """The feeder-and-area sets that make up these feeders and transformer areas."""
        if not feeders and not areas:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for feeder in feeders:
                pipe.smembers(keys.areas_of_feeder(region, feeder))
            for area in areas:
                pipe.smembers(keys.feeders_of_area(region, area))
            found = await pipe.execute()
        sets = {
            keys.customers_supplied(region, feeder, area.decode())
            for feeder, members in zip(feeders, found[: len(feeders)], strict=True)
            for area in members
        }
        sets |= {
            keys.customers_supplied(region, feeder.decode(), area)
            for area, members in zip(areas, found[len(feeders) :], strict=True)
            for feeder in members
        }
        return sorted(sets)

    async def count_in(self, region: str, *, feeder: str = "", transformer_area: str = "") -> int:
        """Accounts the registry has on a feeder or in a transformer area."""
        sets = await (
            self._supplied_sets(region, [], [transformer_area])
            if transformer_area
            else self._supplied_sets(region, [feeder], [])
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in sets:
                pipe.scard(key)
            return sum(await pipe.execute())

    async def accounts_of_phone(self, phone: str) -> list[str]:
        return await self._linked(keys.phone_index(phone), phone)

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
        sources = await self._supplied_sets(region, feeders, transformer_areas)
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
