"""The delivery ledger of one channel: per (notice, account) at most one send, its status and the
counts; receipts by the provider's message id."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from schemas.fanout import STATUS_RANK
from store import keys
from store.coalesce import Coalescer

_RANKS = "{" + ", ".join(f"{k}={v}" for k, v in STATUS_RANK.items()) + "}"

# Claim an account for sending in run ARGV[2] at ARGV[4] (epoch seconds): 'sending|run@time'. A
# claim left by another run is a send that was in flight when its worker died: it may or may not
# have reached the provider, so it is returned as 'stale|run@time' for the caller to reconcile
# with the provider (look it up; send only if it is not there) before anything else happens.
#
# ARGV[3], when not empty, is the account's address on the channel (its phone for SMS): the first
# account of a notice to claim an address sends to it; the others sharing it are settled as
# 'same_phone' (one identical message, not several).
_CLAIM = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur and ARGV[3] ~= '' then
  local owner = redis.call('HGET', KEYS[3], ARGV[3])
  if owner and owner ~= ARGV[1] then
    redis.call('HSET', KEYS[1], ARGV[1], 'same_phone|' .. owner)
    redis.call('HINCRBY', KEYS[2], 'same_phone', 1)
    if ARGV[5] == '1' then redis.call('HINCRBY', KEYS[2], 'recipients', 1) end
    return 'same_phone'
  end
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
end
if not cur then
  redis.call('HSET', KEYS[1], ARGV[1], 'sending|' .. ARGV[2] .. '@' .. ARGV[4])
  redis.call('HINCRBY', KEYS[2], 'sending', 1)
  if ARGV[5] == '1' then redis.call('HINCRBY', KEYS[2], 'recipients', 1) end
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
elseif ARGV[9] == '1' then
  redis.call('HINCRBY', KEYS[2], 'recipients', 1)
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


class DeliveryLedger:
    def __init__(self, redis: Redis, channel: str, *, replicas: int = 0, replica_timeout_ms: int = 0) -> None:
        """`replicas`: a claim counts only once that many replicas have it (WAIT), so a failover
        cannot lose a claim whose message then goes out and, the claim gone, out again."""
        self.redis = redis
        self.channel = channel
        self.replicas = replicas
        self.replica_timeout_ms = replica_timeout_ms
        self._claim = redis.register_script(_CLAIM)
        self._advance = redis.register_script(_ADVANCE)
        self._release = redis.register_script(_RELEASE)
        self._take_over = redis.register_script(_TAKE_OVER)
        # The sends of a worker's batches claim and record one by one; Redis sees one pipeline
        # (and one WAIT) per turn of the event loop.
        self._claims = Coalescer(redis, replicas=replicas, replica_timeout_ms=replica_timeout_ms)
        self._writes = Coalescer(redis)

    async def _script(
        self, coalescer: Coalescer, script: AsyncScript, keys: list[str], args: list[str | int]
    ) -> tuple[Any, int]:
        return await coalescer.call(lambda pipe: script(keys=keys, args=args, client=pipe))

    def _keys(self, outage_id: str, notice_id: str) -> list[str]:
        return [
            keys.ledger(self.channel, outage_id, notice_id),
            keys.delivery_counts(self.channel, outage_id, notice_id),
        ]

    async def set_recipients(self, outage_id: str, notice_id: str, count: int) -> None:
        await self.redis.hset(
            keys.delivery_counts(self.channel, outage_id, notice_id), "recipients", str(count)
        )

    async def claim_one(
        self,
        outage_id: str,
        notice_id: str,
        account: str,
        run_id: str,
        at: datetime,
        address: str = "",
        *,
        extra: bool = False,
    ) -> str:
        """'claimed' (send it), 'stale|<claim>' (a dead run's send: reconcile it), 'same_phone'
        (another account has the message to `address`), 'unreplicated' (the replicas did not
        confirm the claim in time: not claimed, try later), or the account's settled status. No
        `address`: one message per account. `extra`: an entry beyond the notice's counted
        recipients (an account's contact), counted when it first enters."""
        addresses = keys.ledger_addresses(self.channel, outage_id, notice_id)
        claim_keys = [*self._keys(outage_id, notice_id), addresses]
        claim_args: list[str | int] = [account, run_id, address, int(at.timestamp()), "1" if extra else ""]
        result, having = await self._script(self._claims, self._claim, claim_keys, claim_args)
        claim = result.decode() if isinstance(result, bytes) else str(result)
        if claim == "claimed" and having < self.replicas:
            await self.release(outage_id, notice_id, account, run_id)
            return "unreplicated"
        return claim

    async def take_over(
        self, outage_id: str, notice_id: str, account: str, stale: str, run_id: str, at: datetime
    ) -> bool:
        """Make the dead run's claim `stale` this run's; False if something else settled it meanwhile."""
        taken = await self._take_over(
            keys=self._keys(outage_id, notice_id)[:1], args=[account, stale, run_id, int(at.timestamp())]
        )
        return bool(taken)

    async def record_sent(
        self, outage_id: str, notice_id: str, account: str, status: str, ref: str, at: datetime
    ) -> None:
        """The provider took the message at `at`: its status, and its id `ref` for the receipts, in
        one step; the notice's first hand-over time is kept (the compliance report's lead time)."""
        # Receipts come within days; two weeks covers the providers' retries and late receipts.
        mapping = f"{outage_id}|{notice_id}|{account}"
        await self._script(
            self._writes,
            self._advance,
            [*self._keys(outage_id, notice_id), keys.delivery_ref(self.channel, ref)],
            [
                account,
                status,
                ref,
                "0",
                mapping,
                int(timedelta(days=14).total_seconds()),
                keys.stats(self.channel),
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
        extra: bool = False,
    ) -> bool:
        moved, _ = await self._script(
            self._writes,
            self._advance,
            self._keys(outage_id, notice_id),
            [
                account,
                status,
                detail,
                "1" if first else "0",
                "",
                "",
                keys.stats(self.channel),
                "",
                "1" if extra else "",
            ],
        )
        return bool(moved)

    async def release(self, outage_id: str, notice_id: str, account: str, run_id: str) -> None:
        await self._script(self._writes, self._release, self._keys(outage_id, notice_id), [account, run_id])

    async def status_of(self, outage_id: str, notice_id: str, account: str) -> str | None:
        raw = await self.redis.hget(keys.ledger(self.channel, outage_id, notice_id), account)
        return None if raw is None else raw.decode().split("|", 1)[0]

    async def statuses(self, sends: Sequence[tuple[str, str, str]]) -> list[str | None]:
        """Ledger status of each (outage, notice, account)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for outage_id, notice_id, account in sends:
                pipe.hget(keys.ledger(self.channel, outage_id, notice_id), account)
            raws = await pipe.execute()
        return [None if r is None else r.decode().split("|", 1)[0] for r in raws]

    async def counts(self, outage_id: str, notice_id: str) -> dict[str, int]:
        raw = await self.redis.hgetall(keys.delivery_counts(self.channel, outage_id, notice_id))
        return {k.decode(): int(v) for k, v in raw.items()}

    async def by_ref(self, ref: str) -> tuple[str, str, str] | None:
        """The (outage, notice, account) the provider's message `ref` carried."""
        raw = await self.redis.get(keys.delivery_ref(self.channel, ref))
        if raw is None:
            return None
        outage_id, notice_id, account = raw.decode().split("|", 2)
        return outage_id, notice_id, account
