"""What the public sees: the published outages (a read model written at publication), the
"is my supply affected?" lookup, and the version every public render is keyed by."""

from datetime import datetime

from redis.asyncio import Redis

from schemas.customers import address_key
from schemas.public import PublicOutage, phase
from store.coalesce import SharedRead
from store.customers import CustomerStore
from store.web import WebStore


class Lookup:
    """What a lookup found: the current and coming outages, and whether the query looked like an
    account number the registry does not have."""

    def __init__(self, outages: list[PublicOutage], unknown_account: bool) -> None:
        self.outages = outages
        self.unknown_account = unknown_account


class PublicService:
    def __init__(self, redis: Redis) -> None:
        self.web = WebStore(redis)
        self.customers = CustomerStore(redis)
        self._version = SharedRead(self.web.version)

    async def version(self) -> int:
        """The published version, read after the call (every publication acknowledged before it
        counts), in one read shared by the calls that come while another is under way."""
        return await self._version.get()

    async def visible(self, region: str | None, now: datetime) -> list[PublicOutage]:
        return await self.web.visible(region, now)

    async def get(self, outage_id: str) -> PublicOutage | None:
        return await self.web.get(outage_id)

    async def regions(self) -> list[str]:
        return await self.web.regions()

    async def notices(self, region: str | None, limit: int) -> list[tuple[PublicOutage, str]]:
        return await self.web.notices(region, limit)

    async def last_published(self, region: str | None) -> datetime | None:
        return await self.web.last_published(region)

    async def lookup(self, query: str, now: datetime) -> Lookup:
        """By account number, street address (the registry's addresses, never shown, and the
        published area descriptions), feeder or transformer-area code."""
        customer = await self.customers.get(query)
        unknown_account = False
        if customer is not None:
            feeders, areas = {customer.feeder}, {customer.transformer_area}
        else:
            feeders, areas = await self.customers.supply_at_address(query)
            unknown_account = query.isdigit() and not feeders
            feeders.add(query)
            areas.add(query)
        matches = await self.web.affecting(
            feeders=sorted(f for f in feeders if f), areas=sorted(a for a in areas if a)
        )
        # Area descriptions that name the address ("张江路292号" in "张江路290号、292号").
        key = address_key(query)
        if key and len(key) >= 3:
            named = [o for o in await self.web.visible(None, now) if key in address_key(o.area_description)]
            matches += [o for o in named if o.id not in {m.id for m in matches}]
        current = [o for o in matches if phase(o, now) in ("upcoming", "in_progress")]
        return Lookup(current, unknown_account)
