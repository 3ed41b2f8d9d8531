"""Customers add contacts to their account: a phone (family, a property manager) or an email.

Proof that cannot be forged from outside: the code goes to the phone already registered on the
account (the utility's registry), never to the address being added, so only someone the account
holder tells it to can add a contact. Codes expire (10 minutes), are kept hashed, compared in
constant time, void after 5 wrong tries, and at most 3 are sent per account and per address an
hour. Nothing is sent to a contact until it is verified.
"""

import hmac
import re
import secrets

import msgspec
from arq.connections import ArqRedis

from publishers.email import UNSUBSCRIBE_SECRET
from schemas.clock import Clock
from schemas.contacts import (
    CODE_DIGITS,
    CODE_TTL,
    CODE_WINDOW,
    MAX_ATTEMPTS,
    MAX_CODES,
    Contact,
    ContactChannel,
    PendingRegistration,
    SubscriptionRequest,
    Verification,
    code_digest,
    code_matches,
    masked,
)
from schemas.customers import Customer, e164
from schemas.errors import Conflict, NotFound, TooManyRequests, Unprocessable
from schemas.settings import Settings
from schemas.unsubscribe import unsubscribed
from services.jobs import enqueue_message
from store.contacts import ContactStore
from store.customers import CustomerStore
from store.optouts import OptOuts
from store.secrets import deployment_secret

# The ledger's "outage" of the messages carrying registration codes.
REGISTRATION_CODES = "registration"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def shown(contact: Contact) -> Contact:
    """A contact as answers show it: without its token's hash."""
    return msgspec.structs.replace(contact, token_sha256="")


class VerifiedContact(msgspec.Struct, kw_only=True):
    contact: Contact
    # Shown once: with it the contact's holder reads or removes it (header X-Contact-Token).
    token: str


class CodeSent(msgspec.Struct, kw_only=True):
    """Where the code went (masked) and how long it is valid."""

    sent_to: str
    expires_in_seconds: int


def normalised(channel: ContactChannel, address: str) -> str:
    """The address as stored, or 422 naming `address`."""
    text = address.strip()
    if channel is ContactChannel.EMAIL:
        if not _EMAIL.match(text):
            raise Unprocessable(f"{text!r} is not an email address", field="address", rule="email")
        return text.lower()
    try:
        return e164(text)
    except ValueError as exc:
        raise Unprocessable(str(exc), field="address", rule="e164") from None


class RegistrationService:
    def __init__(self, settings: Settings, redis: ArqRedis, clock: Clock) -> None:
        self.settings = settings
        self.queue = redis
        self.clock = clock
        self.contacts = ContactStore(redis)
        self.customers = CustomerStore(redis)

    async def _customer(self, account: str) -> Customer:
        customer = await self.customers.get(account)
        if customer is None:
            raise Unprocessable(
                f"account {account} is not in the customer registry", field="account", rule="registered"
            )
        return customer

    async def request(self, request: SubscriptionRequest) -> CodeSent:
        """Send a code to the account's registry phone for adding `request.address`."""
        customer = await self._customer(request.account)
        address = normalised(request.channel, request.address)
        if request.channel is ContactChannel.SMS and address == customer.phone:
            raise Conflict("this phone is the account's registered phone: it gets every notice already",
                           field="address", rule="primary")  # fmt: skip
        known = await self.contacts.of_account(customer.account)
        if any(c.address == address for c in known):
            raise Conflict("this address is a contact of the account already", field="address", rule="exists")
        if len(known) >= self.settings.max_contacts:
            raise Conflict(f"the account has {len(known)} contacts, the most allowed (MAX_CONTACTS)",
                           field="account", rule="max_contacts")  # fmt: skip
        for kind, value in (("account", customer.account), ("address", address)):
            if await self.contacts.count_request(kind, value, CODE_WINDOW) > MAX_CODES:
                raise TooManyRequests(f"at most {MAX_CODES} codes an hour per {kind}: try again later",
                                      field=kind if kind == "account" else "address", rule="code_rate")  # fmt: skip
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        now = self.clock()
        pending = PendingRegistration(
            account=customer.account,
            channel=request.channel,
            address=address,
            language=request.language,
            events=list(request.events),
            private_notices=request.private_notices,
            code_sha256=code_digest(code),
            expires_at=now + CODE_TTL,
        )
        await self.contacts.hold(pending, CODE_TTL)
        shown = masked(address) if request.channel is ContactChannel.SMS else address
        body = (
            f"State Grid: {shown} asks to receive outage notices of account {customer.account}. "
            f"Code {code}, valid 10 minutes. Give it only to someone you agree to add."
            if customer.language == "en"
            else f"{self.settings.sms_signature}{shown}申请接收户号{customer.account}的停电通知，验证码{code}，"
            f"10分钟内有效。如同意请将验证码告知对方，否则请忽略。"
        )
        request_id = f"{customer.account}:{address}:{int(now.timestamp())}"
        await enqueue_message(self.queue, self.settings.queue_name, customer.phone, body, customer.language,
                              REGISTRATION_CODES, request_id)  # fmt: skip
        return CodeSent(sent_to=masked(customer.phone), expires_in_seconds=int(CODE_TTL.total_seconds()))

    async def verify(
        self, verification: Verification, channel: ContactChannel | None = None
    ) -> VerifiedContact:
        """The code matches: the address becomes a contact of the account."""
        pending = None
        address = verification.address.strip()
        for candidate in [channel] if channel else list(ContactChannel):
            try:
                address = normalised(candidate, verification.address)
            except Unprocessable:
                continue
            pending = await self.contacts.pending(verification.account, address)
            if pending is not None:
                break
        if pending is None:
            raise NotFound("no registration is waiting for this account and address (or its code expired)",
                           field="code", rule="pending")  # fmt: skip
        now = self.clock()
        if not code_matches(verification.code, pending, now):
            tries = pending.attempts + 1
            if tries >= MAX_ATTEMPTS or now >= pending.expires_at:
                await self.contacts.drop(pending.account, address)
                raise Unprocessable("wrong code too many times (or expired): ask for a new one",
                                    field="code", rule="attempts")  # fmt: skip
            await self.contacts.hold(
                msgspec.structs.replace(pending, attempts=tries), pending.expires_at - now
            )
            raise Unprocessable(f"wrong code ({MAX_ATTEMPTS - tries} tries left)", field="code", rule="match")
        token = secrets.token_urlsafe(24)
        contact = Contact(
            id=secrets.token_hex(4),
            account=pending.account,
            channel=pending.channel,
            address=pending.address,
            language=pending.language,
            verified_at=now,
            events=pending.events,
            private_notices=pending.private_notices,
            token_sha256=code_digest(token),
        )
        added = await self.contacts.add(contact, self.settings.max_contacts)
        if added != "added":
            await self.contacts.drop(pending.account, address)
            raise Conflict(f"not added: {added}", field="address", rule=added)
        return VerifiedContact(contact=shown(contact), token=token)

    async def of_account(self, account: str) -> list[Contact]:
        return [shown(c) for c in await self.contacts.of_account(account)]

    async def _held(self, account: str, contact_id: str, token: str) -> Contact:
        """The contact, if `token` is the one given when it was verified (else 404: no oracle)."""
        for contact in await self.contacts.of_account(account):
            if (
                contact.id == contact_id
                and contact.token_sha256
                and hmac.compare_digest(contact.token_sha256, code_digest(token))
            ):
                return contact
        raise NotFound(
            f"no contact {contact_id} of account {account} with this token", field="token", rule="token"
        )

    async def own(self, account: str, contact_id: str, token: str) -> Contact:
        return shown(await self._held(account, contact_id, token))

    async def remove_own(self, account: str, contact_id: str, token: str) -> None:
        await self._held(account, contact_id, token)
        await self.remove(account, contact_id)

    async def remove(self, account: str, contact_id: str) -> Contact:
        removed = await self.contacts.remove(account, contact_id)
        if removed is None:
            raise NotFound(f"account {account} has no contact {contact_id}")
        return removed

    async def remove_address(self, channel: ContactChannel, address: str) -> int:
        """DEREG: this address stops being a contact of every account it was added to."""
        found = await self.contacts.at_address(channel.value, address)
        for account, contact_id in found:
            await self.contacts.remove(account, contact_id)
        return len(found)

    async def unsubscribe(self, token: str) -> tuple[str, str]:
        """A one-click unsubscribe link followed: its address gets nothing more on its channel."""
        named = unsubscribed(await deployment_secret(self.queue, UNSUBSCRIBE_SECRET), token)
        if named is None:
            raise NotFound("this unsubscribe link is not one of ours", field="token", rule="signed")
        channel, address = named
        await OptOuts(self.queue, channel).set_opted_out(address, True)
        return channel, address
