"""Fault reports, repair orders and suspected outages in Redis."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec
from redis.asyncio import Redis
from redis.exceptions import WatchError

from schemas.fault_reports import FaultReport, RepairOrder, SuspectedOutage, accept_due
from store import keys
from store.web import WebEvent

T = TypeVar("T", RepairOrder, SuspectedOutage)

_encode = msgspec.msgpack.Encoder().encode
_report = msgspec.msgpack.Decoder(FaultReport)
_repair = msgspec.msgpack.Decoder(RepairOrder)
_suspect = msgspec.msgpack.Decoder(SuspectedOutage)

# Listing reads at most this many of a region's newest orders or suspects.
LIST_LIMIT = 500


class FaultReportStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def events_channel(self) -> str:
        return keys.dispatch_events()

    async def announce(self, region: str, what: str, item_id: str, at: datetime) -> None:
        """Tell dispatch pages of `region` that repair order or suspected outage `item_id` changed."""
        event = WebEvent(region=region, outage_id=item_id, notice=what, version=int(at.timestamp() * 1000))
        await self.redis.publish(keys.dispatch_events(), msgspec.json.encode(event))

    # Reports

    async def save_report(self, report: FaultReport, *, window: timedelta) -> None:
        """Keep a report; an unexplained one also joins its area's and feeder's grouping windows."""
        at = report.at.timestamp()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.fault_report(report.id), _encode(report))
            pipe.zadd(keys.region_reports(report.region), {report.id: at})
            if report.outage_id is not None:
                pipe.hincrby(keys.outage_reports(), report.outage_id, 1)
            if report.repair_id is not None:
                for key, scope in (
                    (keys.area_reports(report.region, report.transformer_area), report.transformer_area),
                    (keys.feeder_reports(report.region, report.feeder), report.feeder),
                ):
                    if scope:
                        pipe.zadd(key, {report.id: at})
                        # A report exactly the window old still counts ("within 15 minutes").
                        pipe.zremrangebyscore(key, "-inf", f"({at - window.total_seconds()}")
                        pipe.expire(key, int(window.total_seconds()) + 60)
            await pipe.execute()

    async def reports(self, ids: list[str]) -> list[FaultReport]:
        if not ids:
            return []
        raws = await self.redis.mget([keys.fault_report(i) for i in ids])
        return [_report.decode(r) for r in raws if r is not None]

    async def in_window(self, region: str, level: str, scope: str, since: datetime) -> list[FaultReport]:
        """The unexplained reports of one transformer area or feeder since `since`."""
        key = (
            keys.area_reports(region, scope)
            if level == "transformer_area"
            else keys.feeder_reports(region, scope)
        )
        ids = [i.decode() for i in await self.redis.zrangebyscore(key, since.timestamp(), "+inf")]
        return await self.reports(ids)

    async def add_reporters(self, outage_id: str, accounts: list[str], *, published: bool) -> None:
        """Reporters of an outage hear its notices: kept for its fan-out and, when it is
        `published` already (they were told of it in the answer to their report), added to its
        audience so its changes and restoration reach them."""
        if not accounts:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.outage_reporters(outage_id), *accounts)
            if published:
                pipe.sadd(keys.audience(outage_id), *accounts)
                pipe.sadd(keys.outage_reporters_told(outage_id), *accounts)
            await pipe.execute()

    async def explained_counts(self, outage_ids: list[str]) -> dict[str, int]:
        if not outage_ids:
            return {}
        raws = await self.redis.hmget(keys.outage_reports(), outage_ids)
        return {o: int(r) for o, r in zip(outage_ids, raws, strict=True) if r is not None}

    # Repair orders

    async def open_repair_of(self, account: str, address: str) -> str | None:
        """The open order a new report of this account (or address) joins, if any."""
        wanted = [keys.open_repair_of("account", account)]
        if address:
            wanted.append(keys.open_repair_of("address", address))
        for raw in await self.redis.mget(wanted):
            if raw is not None:
                return str(raw.decode())
        return None

    async def create_repair(self, order: RepairOrder, address: str, merge_window: timedelta) -> str:
        """Create `order` unless the account (or address) got an open order meanwhile; the id kept."""
        account_key = keys.open_repair_of("account", order.account)
        claimed = await self.redis.set(account_key, order.id, nx=True, ex=merge_window)
        if not claimed:
            current = await self.redis.get(account_key)
            if current is not None:
                return str(current.decode())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.repair_order(order.id), _encode(order))
            pipe.zadd(keys.region_repairs(order.region), {order.id: order.created_at.timestamp()})
            if address:
                pipe.set(keys.open_repair_of("address", address), order.id, ex=merge_window)
            pipe.zadd(keys.repairs_awaiting_acceptance(), {order.id: accept_due(order).timestamp()})
            await pipe.execute()
        return order.id

    async def accepted(self, repair_id: str) -> None:
        await self.redis.zrem(keys.repairs_awaiting_acceptance(), repair_id)

    async def acceptance_overdue(self, now: datetime) -> list[str]:
        """Open orders whose acceptance was due by `now`; each is returned once (taken off the list)."""
        key = keys.repairs_awaiting_acceptance()
        ids = [i.decode() for i in await self.redis.zrangebyscore(key, "-inf", now.timestamp())]
        taken = []
        for repair_id in ids:
            if await self.redis.zrem(key, repair_id):
                taken.append(repair_id)
        return taken

    async def close_repair_links(self, order: RepairOrder, address: str) -> None:
        """A resolved order takes no more reports: the next one opens a new order."""
        for key in (keys.open_repair_of("account", order.account), keys.open_repair_of("address", address)):
            if (await self.redis.get(key)) == order.id.encode():
                await self.redis.delete(key)

    async def repair(self, repair_id: str) -> RepairOrder | None:
        raw = await self.redis.get(keys.repair_order(repair_id))
        return None if raw is None else _repair.decode(raw)

    async def repairs(self, region: str) -> list[RepairOrder]:
        ids = await self.redis.zrevrange(keys.region_repairs(region), 0, LIST_LIMIT - 1)
        if not ids:
            return []
        raws = await self.redis.mget([keys.repair_order(i.decode()) for i in ids])
        return [_repair.decode(r) for r in raws if r is not None]

    async def update_repair(
        self, repair_id: str, change: Callable[[RepairOrder], RepairOrder | None]
    ) -> RepairOrder | None:
        return await self._update(keys.repair_order(repair_id), _repair, change)

    # Suspected outages

    async def open_suspect_id(self, region: str, level: str, scope: str) -> str | None:
        raw = await self.redis.get(keys.open_suspect(region, level, scope))
        return None if raw is None else str(raw.decode())

    async def create_suspect(self, suspect: SuspectedOutage, scope: str) -> bool:
        """False if the scope got an open suspected outage meanwhile (two reports tipping at once)."""
        if not await self.redis.set(
            keys.open_suspect(suspect.region, suspect.level, scope), suspect.id, nx=True
        ):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.suspected_outage(suspect.id), _encode(suspect))
            pipe.zadd(keys.region_suspects(suspect.region), {suspect.id: suspect.first_report_at.timestamp()})
            await pipe.execute()
        return True

    async def suspect(self, suspect_id: str) -> SuspectedOutage | None:
        raw = await self.redis.get(keys.suspected_outage(suspect_id))
        return None if raw is None else _suspect.decode(raw)

    async def suspects(self, region: str) -> list[SuspectedOutage]:
        ids = await self.redis.zrevrange(keys.region_suspects(region), 0, LIST_LIMIT - 1)
        if not ids:
            return []
        raws = await self.redis.mget([keys.suspected_outage(i.decode()) for i in ids])
        return [_suspect.decode(r) for r in raws if r is not None]

    async def update_suspect(
        self, suspect_id: str, change: Callable[[SuspectedOutage], SuspectedOutage | None]
    ) -> SuspectedOutage | None:
        return await self._update(keys.suspected_outage(suspect_id), _suspect, change)

    async def close_suspect(self, suspect: SuspectedOutage, scope: str) -> None:
        key = keys.open_suspect(suspect.region, suspect.level, scope)
        if (await self.redis.get(key)) == suspect.id.encode():
            await self.redis.delete(key)

    async def _update(
        self, key: str, decoder: msgspec.msgpack.Decoder[T], change: Callable[[T], T | None]
    ) -> T | None:
        """Read, change and write one document atomically (WATCH); None: missing, or `change`
        declined (returned None); the stored document is then unchanged."""
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        return None
                    changed = change(decoder.decode(raw))
                    if changed is None:
                        return None
                    pipe.multi()
                    pipe.set(key, _encode(changed))
                    await pipe.execute()
                    return changed
                except WatchError:
                    continue
