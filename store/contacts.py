"""Accounts' verified contacts and the registrations waiting for their code."""

from collections.abc import Sequence
from datetime import timedelta

import msgspec
from redis.asyncio import Redis

from schemas.contacts import Contact, PendingRegistration
from store import keys

_encode = msgspec.msgpack.Encoder().encode
_contact = msgspec.msgpack.Decoder(Contact)
_pending = msgspec.msgpack.Decoder(PendingRegistration)

# Add a contact unless the account has `max` already or this address: 'added', 'full', 'exists'.
_ADD = """
local existing = redis.call('HVALS', KEYS[1])
if #existing >= tonumber(ARGV[3]) then return 'full' end
if redis.call('SISMEMBER', KEYS[2], ARGV[4]) == 1 then return 'exists' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('DEL', KEYS[3])
redis.call('SADD', KEYS[4], ARGV[5])
return 'added'
"""


class ContactStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._add = redis.register_script(_ADD)

    async def of_accounts(self, accounts: Sequence[str]) -> dict[str, list[Contact]]:
        """Each account's contacts, in one round trip (accounts without any are left out)."""
        if not accounts:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for account in accounts:
                pipe.hvals(keys.contacts(account))
            found = await pipe.execute()
        return {
            account: sorted((_contact.decode(raw) for raw in raws), key=lambda c: c.id)
            for account, raws in zip(accounts, found, strict=True)
            if raws
        }

    async def of_account(self, account: str) -> list[Contact]:
        return (await self.of_accounts([account])).get(account, [])

    async def add(self, contact: Contact, most: int) -> str:
        """'added', 'full' (the account has `most`), or 'exists' (this address is its contact already)."""
        result = await self._add(
            keys=[
                keys.contacts(contact.account),
                keys.contacts_at(contact.channel.value, contact.address),
                keys.pending_registration(contact.account, contact.address),
                keys.accounts_with_contacts(contact.channel.value),
            ],
            args=[contact.id, _encode(contact), most, f"{contact.account}/{contact.id}", contact.account],
        )
        return result.decode() if isinstance(result, bytes) else str(result)

    async def remove(self, account: str, contact_id: str) -> Contact | None:
        raw = await self.redis.hget(keys.contacts(account), contact_id)
        if raw is None:
            return None
        contact = _contact.decode(raw)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.contacts(account), contact_id)
            pipe.srem(keys.contacts_at(contact.channel.value, contact.address), f"{account}/{contact_id}")
            await pipe.execute()
        if not any(c.channel is contact.channel for c in await self.of_account(account)):
            await self.redis.srem(keys.accounts_with_contacts(contact.channel.value), account)
        return contact

    async def at_address(self, channel: str, address: str) -> list[tuple[str, str]]:
        """(account, contact id) of every contact with this address."""
        members = await self.redis.smembers(keys.contacts_at(channel, address))
        return [(m.decode().partition("/")[0], m.decode().partition("/")[2]) for m in members]

    async def pending(self, account: str, address: str) -> PendingRegistration | None:
        raw = await self.redis.get(keys.pending_registration(account, address))
        return None if raw is None else _pending.decode(raw)

    async def hold(self, pending: PendingRegistration, ttl: timedelta) -> None:
        await self.redis.set(
            keys.pending_registration(pending.account, pending.address), _encode(pending), ex=ttl
        )

    async def drop(self, account: str, address: str) -> None:
        await self.redis.delete(keys.pending_registration(account, address))

    async def count_request(self, kind: str, value: str, window: timedelta) -> int:
        """Counts one more code asked by this account or address; how many in the window."""
        key = keys.code_requests(kind, value)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
            count, _ = await pipe.execute()
        return int(count)
