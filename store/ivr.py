"""The phone menu's index: kept current at every publication, read in four round trips per call."""

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec
from redis.asyncio import Redis

from schemas.customers import Customer
from schemas.ivr import IvrOutage
from store import keys
from store.customers import CustomerStore, decode_customer, glob_literal

_decoder = msgspec.msgpack.Decoder(IvrOutage)

# A caller's whole answer in one round trip: phone -> accounts -> customers -> their feeder, area
# and account indexes -> the outages. It builds key names inside the script (the registry's
# buckets with keys.bucket_of's hash), so it needs a single Redis, not a sharded cluster.
_CALLER = (
    keys.BUCKET_OF_LUA
    + """
local phone_index, prefix, now, index, customers_prefix, account_index = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local accounts, cursor = {}, '0'
repeat
  local page = redis.call('HSCAN', phone_index, cursor, 'MATCH', prefix, 'COUNT', 10000)
  cursor = page[1]
  for i = 1, #page[2], 2 do accounts[#accounts + 1] = string.match(page[2][i], '|([^|]*)$') end
until cursor == '0'
table.sort(accounts)
local customers, per_account, wanted, seen = {}, {}, {}, {}
for _, account in ipairs(accounts) do
  local raw = redis.call('HGET', customers_prefix .. bucket_of(account), account)
  if raw then
    customers[#customers + 1] = {account, raw}
    -- StoredCustomer: name, phone, region, feeder, transformer_area, ...
    local c = cmsgpack.unpack(raw)
    local region, feeder, area = c[3], c[4], c[5]
    local keys = {account_index .. account}
    if feeder ~= '' then keys[#keys + 1] = index .. region .. ':feeder:' .. feeder end
    if area ~= '' then keys[#keys + 1] = index .. region .. ':area:' .. area end
    local ids = {}
    for _, key in ipairs(keys) do
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', key, now, '+inf')) do
        ids[#ids + 1] = id
        if not seen[id] then seen[id] = true; wanted[#wanted + 1] = id end
      end
    end
    per_account[#per_account + 1] = {account, ids}
  end
end
local docs = {}
if #wanted > 0 then docs = redis.call('HMGET', ARGV[7], unpack(wanted)) end
return {customers, per_account, wanted, docs}
"""
)
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
        self._caller = redis.register_script(_CALLER)

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
        raw_customers, per_account, wanted, docs = await self._caller(
            keys=[],
            args=[
                keys.phone_index(phone),
                f"{glob_literal(phone)}|*",
                now.timestamp(),
                keys.ivr_index_prefix(),
                keys.customers_prefix(),
                keys.ivr_by_account(""),
                keys.ivr_outages(),
            ],
        )
        found = {i.decode(): _decoder.decode(d) for i, d in zip(wanted, docs, strict=True) if d is not None}
        outages = {
            account.decode(): sorted(
                {found[i.decode()] for i in ids if i.decode() in found}, key=lambda o: o.starts_at
            )
            for account, ids in per_account
        }
        return CallerOutages(
            customers=[decode_customer(a.decode(), raw) for a, raw in raw_customers], outages=outages
        )
