"""The SMS ledger: per (notice, account) at most one send, status counts, held batches, outbox."""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
from redis.asyncio import Redis

from schemas.deliveries import Reach
from schemas.sms import STATUS_RANK, AudienceRule
from store import keys
from store.customers import CustomerStore

_RANKS = "{" + ", ".join(f"{k}={v}" for k, v in STATUS_RANK.items()) + "}"

# Claim an account for sending in run ARGV[2] at ARGV[4] (epoch seconds): 'sending|run@time'. A
# claim left by another run is a send that was in flight when its worker died: it may or may not
# have reached the provider, so it is returned as 'stale|run@time' for the caller to reconcile
# with the provider (look it up; send only if it is not there) before anything else happens.
#
# ARGV[3], when not empty, is the account's phone: the first account of a notice to claim a phone
# sends to it; the others sharing it are settled as 'same_phone' (one identical SMS, not several).
_CLAIM = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur and ARGV[3] ~= '' then
  local owner = redis.call('HGET', KEYS[3], ARGV[3])
  if owner and owner ~= ARGV[1] then
    redis.call('HSET', KEYS[1], ARGV[1], 'same_phone|' .. owner)
    redis.call('HINCRBY', KEYS[2], 'same_phone', 1)
    return 'same_phone'
  end
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
end
if not cur then
  redis.call('HSET', KEYS[1], ARGV[1], 'sending|' .. ARGV[2] .. '@' .. ARGV[4])
  redis.call('HINCRBY', KEYS[2], 'sending', 1)
  return 'claimed'
end
local status, detail = string.match(cur, '^([^|]*)|?(.*)$')
local run = string.match(detail, '^([^@]*)')
if status == 'sending' and run ~= ARGV[2] then
  return 'stale|' .. detail
end
return status
"""

# Take over a dead run's claim ARGV[2] ('run@time') for run ARGV[3] at ARGV[4]: 1 if it was still that.
_TAKE_OVER = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'sending|' .. ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], 'sending|' .. ARGV[3] .. '@' .. ARGV[4])
return 1
"""

# Move an account to ARGV[2] (detail ARGV[3]) if that is forward; ARGV[4] = '1' allows a first entry.
_ADVANCE = (
    "local ranks = "
    + _RANKS
    + """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local status = cur and string.match(cur, '^([^|]*)') or nil
if status == nil and ARGV[4] ~= '1' then return 0 end
if status ~= nil then
  if status ~= 'sending' and status ~= 'unconfirmed' and ranks[ARGV[2]] <= ranks[status] then return 0 end
  redis.call('HINCRBY', KEYS[2], status, -1)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HINCRBY', ARGV[7], ARGV[2], 1)
if (ARGV[2] == 'failed' or ARGV[2] == 'undelivered') and ARGV[3] ~= '' then
  redis.call('HINCRBY', KEYS[2], ARGV[2] .. ':' .. ARGV[3], 1)
  redis.call('HINCRBY', ARGV[7], ARGV[2] .. ':' .. ARGV[3], 1)
end
if KEYS[3] then
  redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[6])
end
if ARGV[8] and ARGV[8] ~= '' then
  redis.call('HSETNX', KEYS[2], 'first_handed_over', ARGV[8])
end
return 1
"""
)

# The outbox keeps the message, and (for two weeks) that this text went to this number, so a run
# that takes over a dead run's claim can ask the outbox as it would ask Twilio.
_OUTBOX_ADD = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return 1
"""

# Give back a claim of run ARGV[2] (the send failed in a way worth retrying).
_RELEASE = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and string.match(cur, '^sending|([^@]*)') == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HINCRBY', KEYS[2], 'sending', -1)
  redis.call('HINCRBY', KEYS[2], 'retries', 1)
  return 1
end
return 0
"""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class OutboxMessage(msgspec.Struct, kw_only=True):
    sid: str
    to: str
    body: str
    segments: int
    encoding: str
    at: datetime
    outage_id: str
    notice_id: str
    account: str
    language: str


class HeldBatch(msgspec.Struct):
    outage_id: str
    notice_id: str
    accounts: list[str]


_outbox_decoder = msgspec.json.Decoder(OutboxMessage)
_held_decoder = msgspec.msgpack.Decoder(HeldBatch)


class SmsLedger:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._advance = redis.register_script(_ADVANCE)
        self._release = redis.register_script(_RELEASE)
        self._take_over = redis.register_script(_TAKE_OVER)
        self._outbox_add = redis.register_script(_OUTBOX_ADD)

    async def audience_size(self, outage_id: str) -> int:
        return int(await self.redis.scard(keys.sms_audience(outage_id)))

    async def has_audience(self, outage_id: str) -> bool:
        return bool(await self.redis.exists(keys.sms_audience(outage_id)))

    async def audience_batches(self, outage_id: str, size: int) -> list[list[str]]:
        """The audience in batches, in a stable order (sorted) so a re-run makes the same batches."""
        members = sorted(m.decode() for m in await self.redis.smembers(keys.sms_audience(outage_id)))
        return [members[i : i + size] for i in range(0, len(members), size)]

    async def resolve_audience(
        self, customers: CustomerStore, outage_id: str, region: str, rule: AudienceRule
    ) -> int:
        return await customers.resolve(keys.sms_audience(outage_id), region, **msgspec.structs.asdict(rule))

    async def set_recipients(self, outage_id: str, notice_id: str, count: int) -> None:
        await self.redis.hset(keys.sms_counts(outage_id, notice_id), "recipients", str(count))

    async def claim_one(
        self, outage_id: str, notice_id: str, account: str, run_id: str, at: datetime, phone: str = ""
    ) -> str:
        """'claimed' (send it), 'stale|<claim>' (a dead run's send: reconcile it), 'same_phone'
        (another account has the message to `phone`), or the account's settled status. No `phone`:
        one message per account."""
        ledger, counts = keys.sms_ledger(outage_id, notice_id), keys.sms_counts(outage_id, notice_id)
        phones = keys.sms_phones(outage_id, notice_id)
        result = await self._claim(
            keys=[ledger, counts, phones], args=[account, run_id, phone, int(at.timestamp())]
        )
        return result.decode() if isinstance(result, bytes) else str(result)

    async def take_over(
        self, outage_id: str, notice_id: str, account: str, stale: str, run_id: str, at: datetime
    ) -> bool:
        """Make the dead run's claim `stale` this run's; False if something else settled it meanwhile."""
        taken = await self._take_over(
            keys=[keys.sms_ledger(outage_id, notice_id)], args=[account, stale, run_id, int(at.timestamp())]
        )
        return bool(taken)

    async def record_sent(
        self, outage_id: str, notice_id: str, account: str, status: str, sid: str, at: datetime
    ) -> None:
        """The provider took the message at `at`: its status, and its SID for the receipts, in one
        step; the notice's first hand-over time is kept (the compliance report's lead time)."""
        ledger, counts = keys.sms_ledger(outage_id, notice_id), keys.sms_counts(outage_id, notice_id)
        # Receipts come within days; two weeks covers Twilio's retries and late receipts.
        mapping = f"{outage_id}|{notice_id}|{account}"
        await self._advance(
            keys=[ledger, counts, keys.sms_by_sid(sid)],
            args=[
                account,
                status,
                sid,
                "0",
                mapping,
                int(timedelta(days=14).total_seconds()),
                keys.stats("sms"),
                str(int(at.timestamp())),
            ],
        )

    async def advance(
        self,
        outage_id: str,
        notice_id: str,
        account: str,
        status: str,
        detail: str = "",
        *,
        first: bool = False,
    ) -> bool:
        ledger, counts = keys.sms_ledger(outage_id, notice_id), keys.sms_counts(outage_id, notice_id)
        moved = await self._advance(
            keys=[ledger, counts],
            args=[account, status, detail, "1" if first else "0", "", "", keys.stats("sms")],
        )
        return bool(moved)

    async def release(self, outage_id: str, notice_id: str, account: str, run_id: str) -> None:
        ledger, counts = keys.sms_ledger(outage_id, notice_id), keys.sms_counts(outage_id, notice_id)
        await self._release(keys=[ledger, counts], args=[account, run_id])

    async def status_of(self, outage_id: str, notice_id: str, account: str) -> str | None:
        raw = await self.redis.hget(keys.sms_ledger(outage_id, notice_id), account)
        return None if raw is None else raw.decode().split("|", 1)[0]

    async def statuses(self, sends: Sequence[tuple[str, str, str]]) -> list[str | None]:
        """Ledger status of each (outage, notice, account)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for outage_id, notice_id, account in sends:
                pipe.hget(keys.sms_ledger(outage_id, notice_id), account)
            raws = await pipe.execute()
        return [None if r is None else r.decode().split("|", 1)[0] for r in raws]

    async def preview_reach(
        self,
        customers: CustomerStore,
        outage_id: str,
        region: str,
        rule: AudienceRule | None,
        per_account: bool,
    ) -> Reach:
        """Who a notice would reach, without keeping anything: the outage's audience if `rule` is
        None (changes go to those told of the outage), else the audience the rule resolves to."""
        if rule is None:
            return await customers.reach(keys.sms_audience(outage_id), per_account=per_account)
        scratch = keys.scratch(f"preview:{secrets.token_hex(8)}")
        try:
            await customers.resolve(scratch, region, **msgspec.structs.asdict(rule))
            return await customers.reach(scratch, per_account=per_account)
        finally:
            await self.redis.delete(scratch)

    async def counts(self, outage_id: str, notice_id: str) -> dict[str, int]:
        raw = await self.redis.hgetall(keys.sms_counts(outage_id, notice_id))
        return {k.decode(): int(v) for k, v in raw.items()}

    async def by_sid(self, sid: str) -> tuple[str, str, str] | None:
        raw = await self.redis.get(keys.sms_by_sid(sid))
        if raw is None:
            return None
        outage_id, notice_id, account = raw.decode().split("|", 2)
        return outage_id, notice_id, account

    async def hold(self, batch_id: str, batch: HeldBatch, release_at: datetime) -> bool:
        """Keep a batch until `release_at`; False if it is held already."""
        added = await self.redis.zadd(keys.sms_held(), {batch_id: release_at.timestamp()}, nx=True)
        if not added:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.sms_held_batches(), batch_id, msgspec.msgpack.encode(batch))  # type: ignore[arg-type]
            pipe.hincrby(keys.sms_counts(batch.outage_id, batch.notice_id), "held", len(batch.accounts))
            await pipe.execute()
        return True

    async def held_until(self, outage_id: str, notice_id: str) -> datetime | None:
        """When the held batches of a notice go, if any are still held."""
        score = await self.redis.zscore(keys.sms_held(), f"{outage_id}:{notice_id}:0")
        return None if score is None else datetime.fromtimestamp(score, UTC)

    async def held_summary(self) -> tuple[int, datetime | None]:
        """How many recipients wait in held batches, and when the first of them go."""
        first = await self.redis.zrange(keys.sms_held(), 0, 0, withscores=True)
        if not first:
            return 0, None
        raws = await self.redis.hvals(keys.sms_held_batches())
        waiting = sum(len(_held_decoder.decode(r).accounts) for r in raws)
        return waiting, datetime.fromtimestamp(first[0][1], UTC)

    async def due_batches(self, now: datetime) -> list[tuple[str, HeldBatch]]:
        # In release order: a change held behind its original is scored after it.
        ids = [i.decode() for i in await self.redis.zrangebyscore(keys.sms_held(), "-inf", now.timestamp())]
        if not ids:
            return []
        raws = await self.redis.hmget(keys.sms_held_batches(), ids)
        return [(i, _held_decoder.decode(r)) for i, r in zip(ids, raws, strict=True) if r is not None]

    async def unhold(self, batch_id: str, batch: HeldBatch) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.sms_held(), batch_id)
            pipe.hdel(keys.sms_held_batches(), batch_id)
            pipe.hincrby(keys.sms_counts(batch.outage_id, batch.notice_id), "held", -len(batch.accounts))
            await pipe.execute()

    async def note_affected(self, accounts: Sequence[str], outage_id: str, until: datetime) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for account in accounts:
                pipe.zadd(keys.account_outages(account), {outage_id: until.timestamp()})
            await pipe.execute()

    async def outages_of_account(self, account: str, after: datetime) -> list[str]:
        ids = await self.redis.zrangebyscore(keys.account_outages(account), after.timestamp(), "+inf")
        return [i.decode() for i in ids]

    async def add_to_outbox(self, message: OutboxMessage, keep: int) -> None:
        sent = keys.sms_outbox_sent(message.to, _digest(message.body))
        await self._outbox_add(
            keys=[keys.sms_outbox(), sent],
            args=[msgspec.json.encode(message), keep, message.sid, int(timedelta(days=14).total_seconds())],
        )

    async def outbox_sid(self, to: str, body: str) -> str | None:
        """The outbox message with this text to this number, if one was kept."""
        sid = await self.redis.get(keys.sms_outbox_sent(to, _digest(body)))
        return None if sid is None else sid.decode()

    async def outbox(self, offset: int, limit: int) -> tuple[int, list[OutboxMessage]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.llen(keys.sms_outbox())
            pipe.lrange(keys.sms_outbox(), offset, offset + limit - 1)
            total, raws = await pipe.execute()
        return int(total), [_outbox_decoder.decode(r) for r in raws]


class FanoutWatch:
    """Fan-outs that may still have recipients waiting, so a stalled one is found and resumed."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def started(self, outage_id: str, notice_id: str, at: datetime) -> None:
        await self.redis.zadd(keys.sms_fanouts(), {f"{outage_id}/{notice_id}": at.timestamp()})

    async def due(self, checked_before: datetime) -> list[tuple[str, str]]:
        members = await self.redis.zrangebyscore(keys.sms_fanouts(), "-inf", checked_before.timestamp())
        pairs = [m.decode().partition("/") for m in members]
        return [(outage_id, notice_id) for outage_id, _, notice_id in pairs]

    async def checked(self, outage_id: str, notice_id: str, at: datetime, waiting: int) -> int | None:
        """Record a check; returns how many were waiting at the previous one."""
        member = f"{outage_id}/{notice_id}"
        previous = await self.redis.hget(keys.sms_fanout_progress(), member)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.sms_fanouts(), {member: at.timestamp()})
            pipe.hset(keys.sms_fanout_progress(), member, str(waiting))
            await pipe.execute()
        return None if previous is None else int(previous)

    async def finished(self, outage_id: str, notice_id: str) -> None:
        member = f"{outage_id}/{notice_id}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.sms_fanouts(), member)
            pipe.hdel(keys.sms_fanout_progress(), member)
            await pipe.execute()
