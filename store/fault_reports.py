"""Fault reports, repair orders and suspected outages in Redis."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import msgspec
from redis.asyncio import Redis

from schemas.fault_reports import FaultReport, RepairOrder, SuspectedOutage, accept_due, share_of
from schemas.public import WebEvent
from store import keys
from store.documents import update_document

T = TypeVar("T", RepairOrder, SuspectedOutage)


class Grouping(msgspec.Struct, kw_only=True):
    """A report's grouping windows after it: distinct accounts of its area and distinct areas of
    its feeder reporting, and their open suspected outages."""

    area_accounts: int = 0
    area_suspect: str | None = None
    feeder_areas: int = 0
    feeder_suspect: str | None = None


_encode = msgspec.msgpack.Encoder().encode
_report = msgspec.msgpack.Decoder(FaultReport)
_repair = msgspec.msgpack.Decoder(RepairOrder)
_suspect = msgspec.msgpack.Decoder(SuspectedOutage)

# Listing reads at most this many of a region's newest orders or suspects.
LIST_LIMIT = 500


class OpenItems(msgspec.Struct, kw_only=True):
    repair: str | None = None
    area_suspect: str | None = None
    feeder_suspect: str | None = None


# Create a repair order unless the account (or the address) has an open one; either way answer
# {the order's id, 1 if created, the open suspected outages of the area and the feeder}.
_CREATE_REPAIR = """
local suspects = {redis.call('GET', KEYS[6]), redis.call('GET', KEYS[7])}
local current = redis.call('GET', KEYS[1])
if not current and ARGV[5] == '1' then current = redis.call('GET', KEYS[4]) end
if current then return {current, 0, suspects[1], suspects[2]} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
if ARGV[5] == '1' then redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[4]) end
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[1])
redis.call('HINCRBYFLOAT', KEYS[8], 'created', 1)
return {ARGV[1], 1, suspects[1], suspects[2]}
"""


class RepairPlaced(msgspec.Struct, kw_only=True):
    """Where a report's repair went: the order (new, or the open one it joins) and what is open."""

    repair_id: str
    created: bool
    open_items: "OpenItems"


# Save a report, count it, announce it, and group it (save_report's arguments say which keys).
_SAVE = """
local at = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], at, ARGV[1])
redis.call('HINCRBYFLOAT', KEYS[3], ARGV[6], 1)
if ARGV[7] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[7], 1) end
if ARGV[8] ~= '' then redis.call('PUBLISH', KEYS[5], ARGV[8]) end
local answer = {0, false, 0, false}
if ARGV[9] ~= '1' then return answer end
local function window(ids, distinct, member)
  for _, pair in ipairs({{ids, ARGV[1]}, {distinct, member}}) do
    redis.call('ZADD', pair[1], at, pair[2])
    -- A report exactly the window old still counts ("within 15 minutes").
    redis.call('ZREMRANGEBYSCORE', pair[1], '-inf', ARGV[4])
    redis.call('EXPIRE', pair[1], ARGV[5])
  end
  return redis.call('ZCARD', distinct)
end
local function note(counts, accounts, announce)
  if announce == '' then return end
  redis.call('HINCRBY', counts, 'reports', 1)
  redis.call('HINCRBY', counts, 'urgent', tonumber(ARGV[16]))
  redis.call('HSET', counts, 'last', ARGV[3])
  redis.call('SADD', accounts, ARGV[10])
  redis.call('PUBLISH', KEYS[5], announce)
end
if ARGV[12] == '1' then
  note(KEYS[12], KEYS[13], ARGV[14])
  answer[1] = window(KEYS[6], KEYS[7], ARGV[10])
  answer[2] = redis.call('GET', KEYS[10])
end
if ARGV[13] == '1' then
  note(KEYS[14], KEYS[15], ARGV[15])
  answer[3] = window(KEYS[8], KEYS[9], ARGV[11])
  answer[4] = redis.call('GET', KEYS[11])
end
return answer
"""


class FaultReportStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._create_repair = redis.register_script(_CREATE_REPAIR)
        self._save = redis.register_script(_SAVE)

    def events_channel(self) -> str:
        return keys.dispatch_events()

    async def announce(self, region: str, what: str, item_id: str, at: datetime) -> None:
        """Tell dispatch pages of `region` that repair order or suspected outage `item_id` changed."""
        event = WebEvent(region=region, outage_id=item_id, notice=what, version=int(at.timestamp() * 1000))
        await self.redis.publish(keys.dispatch_events(), msgspec.json.encode(event))

    # Reports

    async def save_report(
        self,
        report: FaultReport,
        *,
        window: timedelta,
        counted_as: str,
        announce: str | None = None,
        open_items: OpenItems | None = None,
    ) -> Grouping:
        """Keep a report (counted in the stats as `counted_as`, announced to dispatch pages as
        `announce`) in one script call; an unexplained one joins its area's and feeder's grouping
        windows and is counted on their open suspected outages (`open_items`), and the answer says
        how many distinct accounts and areas the windows now hold and their open suspected outages."""
        at = report.at.timestamp()
        grouped = report.repair_id is not None and report.outage_id is None
        opened = open_items or OpenItems()

        def event(item: str | None, what: str) -> bytes:
            if item is None:
                return b""
            return msgspec.json.encode(WebEvent(report.region, item, what, int(at * 1000)))

        area, feeder = report.transformer_area or "-", report.feeder or "-"
        area_suspect, feeder_suspect = opened.area_suspect or "-", opened.feeder_suspect or "-"
        result = await self._save(
            keys=[
                keys.fault_report(report.id),
                keys.region_reports(report.region),
                keys.stats("reports"),
                keys.outage_reports(),
                keys.dispatch_events(),
                keys.area_reports(report.region, area),
                keys.area_accounts(report.region, area),
                keys.feeder_reports(report.region, feeder),
                keys.feeder_areas(report.region, feeder),
                keys.open_suspect(report.region, "transformer_area", area),
                keys.open_suspect(report.region, "feeder", feeder),
                keys.suspect_counts(area_suspect),
                keys.suspect_accounts(area_suspect),
                keys.suspect_counts(feeder_suspect),
                keys.suspect_accounts(feeder_suspect),
            ],
            args=[
                report.id,
                _encode(report),
                at,
                f"({at - window.total_seconds()}",
                int(window.total_seconds()) + 60,
                counted_as,
                report.outage_id or "",
                event(report.repair_id, announce) if announce else b"",
                "1" if grouped else "",
                report.account,
                report.transformer_area,
                "1" if report.transformer_area else "",
                "1" if report.feeder and report.transformer_area else "",
                event(opened.area_suspect, "suspect") if grouped else b"",
                event(opened.feeder_suspect, "suspect") if grouped else b"",
                "1" if report.urgency.value == "urgent" else "0",
            ],
        )
        area_count, area_open, feeder_count, feeder_open = result
        return Grouping(
            area_accounts=int(area_count),
            area_suspect=area_open.decode() if area_open else None,
            feeder_areas=int(feeder_count),
            feeder_suspect=feeder_open.decode() if feeder_open else None,
        )

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

    async def create_repair(self, order: RepairOrder, address: str, merge_window: timedelta) -> RepairPlaced:
        """Create `order` unless the account (or address) has an open order (then that one is
        answered, for the report to join), in one script call; with the open suspected outages
        of the order's area and feeder."""
        placed = await self._create_repair(
            keys=[
                keys.open_repair_of("account", order.account),
                keys.repair_order(order.id),
                keys.region_repairs(order.region),
                keys.open_repair_of("address", address or "-"),
                keys.repairs_awaiting_acceptance(),
                keys.open_suspect(order.region, "transformer_area", order.transformer_area or "-"),
                keys.open_suspect(order.region, "feeder", order.feeder or "-"),
                keys.stats("repairs"),
            ],
            args=[
                order.id,
                _encode(order),
                order.created_at.timestamp(),
                int(merge_window.total_seconds()),
                "1" if address else "",
                accept_due(order).timestamp(),
            ],
        )
        repair_id, created, area_suspect, feeder_suspect = placed
        return RepairPlaced(
            repair_id=repair_id.decode(),
            created=bool(created),
            open_items=OpenItems(
                area_suspect=area_suspect.decode() if area_suspect and order.transformer_area else None,
                feeder_suspect=feeder_suspect.decode() if feeder_suspect and order.feeder else None,
            ),
        )

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
        open_key = keys.open_suspect(suspect.region, suspect.level, scope)
        if not await self.redis.set(open_key, suspect.id, nx=True):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.suspected_outage(suspect.id), _encode(suspect))
            pipe.zadd(keys.region_suspects(suspect.region), {suspect.id: suspect.first_report_at.timestamp()})
            figures = {
                "reports": suspect.reports,
                "urgent": suspect.urgent,
                "last": suspect.last_report_at.timestamp(),
            }
            pipe.hset(keys.suspect_counts(suspect.id), mapping=figures)
            if suspect.report_accounts:
                pipe.sadd(keys.suspect_accounts(suspect.id), *suspect.report_accounts)
            await pipe.execute()
        return True

    async def note_suspect_report(self, suspect_id: str, report: FaultReport, urgent: bool) -> None:
        """One more report of an open suspected outage: its running figures, in one round trip."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(keys.suspect_counts(suspect_id), "reports", 1)
            pipe.hincrby(keys.suspect_counts(suspect_id), "urgent", int(urgent))
            pipe.hset(keys.suspect_counts(suspect_id), "last", str(report.at.timestamp()))
            pipe.sadd(keys.suspect_accounts(suspect_id), report.account)
            await pipe.execute()

    async def suspect(self, suspect_id: str) -> SuspectedOutage | None:
        found = await self._suspects([suspect_id])
        return found[0] if found else None

    async def suspects(self, region: str) -> list[SuspectedOutage]:
        ids = await self.redis.zrevrange(keys.region_suspects(region), 0, LIST_LIMIT - 1)
        return await self._suspects([i.decode() for i in ids])

    async def _suspects(self, ids: list[str]) -> list[SuspectedOutage]:
        """The documents with their running figures."""
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for suspect_id in ids:
                pipe.get(keys.suspected_outage(suspect_id))
                pipe.hgetall(keys.suspect_counts(suspect_id))
                pipe.smembers(keys.suspect_accounts(suspect_id))
            raws = await pipe.execute()
        found = []
        for index in range(len(ids)):
            raw, counts, members = raws[3 * index : 3 * index + 3]
            if raw is None:
                continue
            doc = _suspect.decode(raw)
            figures = {k.decode(): float(v) for k, v in counts.items()}
            accounts = sorted(a.decode() for a in members) or doc.report_accounts
            last = datetime.fromtimestamp(figures["last"], UTC) if "last" in figures else doc.last_report_at
            found.append(
                msgspec.structs.replace(
                    doc,
                    reports=int(figures.get("reports", doc.reports)),
                    urgent=int(figures.get("urgent", doc.urgent)),
                    last_report_at=last,
                    accounts=len(accounts),
                    report_accounts=accounts,
                    share=share_of(len(accounts), doc.customers),
                )
            )
        return found

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
        return await update_document(self.redis, key, decoder, change)
