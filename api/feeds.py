"""Feeds of the public outages: Atom, CAP 1.2 alerts with an Atom index, iCalendar."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import icalendar
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from api.cache import RenderedCache, cache_key
from api.conditional import etag_of, not_modified, unchanged, validators
from publishers.templates import environment
from schemas.cap import cap_alert, cap_time
from schemas.clock import Clock
from schemas.errors import NotFound
from schemas.kinds import SCHEDULED_KINDS
from schemas.public import PublicOutage, is_public, phase
from schemas.regions import region_name
from schemas.settings import Settings
from services.public import PublicService

FEED_ENTRIES = 100
EVENT_TITLE = {"new": "停电通知", "postponed": "停电改期", "cancelled": "停电取消",
               "restoration_delayed": "送电推迟", "restored": "恢复供电"}  # fmt: skip


def _xml(template: str, **context: Any) -> bytes:
    return environment().get_template(f"feeds/{template}").render(**context).encode()


async def _conditional(
    request: Request[Any, Any, Any],
    public: PublicService,
    clock: Clock,
    rendered: RenderedCache,
    render: Callable[[], Awaitable[bytes]],
    *,
    media_type: str,
    max_age: int,
    last_modified: datetime | None = None,
) -> Response[bytes]:
    """A feed with its validators, 304 to a reader whose copy is current, one render per version."""
    key = cache_key(request.url.path, request.url.query, await public.version(), clock())
    headers = validators(etag_of(key), last_modified, max_age)
    if unchanged(request, headers["ETag"], last_modified):
        return not_modified(headers)
    response = await rendered.through(key, render, media_type=media_type, headers=headers)
    return Response(response.body, media_type=media_type, headers=headers)


def _tag(settings: Settings, outage_id: str, notice_id: str) -> str:
    host = urlsplit(settings.public_base_url).hostname or "localhost"
    return f"tag:{host},2026:{outage_id}/{notice_id}"


def _cap_url(settings: Settings, outage_id: str, notice_id: str) -> str:
    return f"{settings.public_base_url}/feeds/cap/{outage_id}/{notice_id}.xml"


def _cap(settings: Settings, outage: PublicOutage, notice_id: str) -> Any:
    return cap_alert(
        outage,
        notice_id,
        sender=settings.cap_sender,
        base_url=settings.public_base_url,
        hotline=settings.hotline,
        zone=settings.zone,
    )


@get("/feeds/{region:str}/atom.xml", include_in_schema=False)
async def atom_feed(
    request: Request[Any, Any, Any],
    region: FromPath[str],
    public: NamedDependency[PublicService],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    rendered: NamedDependency[RenderedCache],
) -> Response[bytes]:
    last = await public.last_published(region)
    render = partial(_atom, region, public, settings, clock)
    return await _conditional(
        request,
        public,
        clock,
        rendered,
        render,
        media_type="application/atom+xml",
        max_age=60,
        last_modified=last,
    )


async def _atom(region: str, public: PublicService, settings: Settings, clock: Clock) -> bytes:
    notices = await public.notices(region, FEED_ENTRIES)
    entries = []
    for outage, notice_id in notices:
        update = next(u for u in outage.updates if u.notice == notice_id)
        entries.append(
            {
                "id": _tag(settings, outage.id, notice_id),
                "title": f"{EVENT_TITLE[update.event.value]}：{outage.title}",
                "updated": cap_time(update.published_at, settings.zone),
                "link": f"{settings.public_base_url}/outages/{outage.id}",
                "cap": _cap_url(settings, outage.id, notice_id),
                "kind": outage.kind.value,
                "summary": f"{outage.area_description}。{update.reason}",
            }
        )
    updated = entries[0]["updated"] if entries else cap_time(clock(), settings.zone)
    return _xml(
        "atom.xml",
        base=settings.public_base_url,
        region=region,
        region_name=region_name(region),
        updated=updated,
        entries=entries,
        sender_name=f"国家电网{settings.hotline}",
    )


@get("/feeds/cap/{outage_id:str}/{document:str}", include_in_schema=False)
async def cap_document(
    request: Request[Any, Any, Any],
    outage_id: FromPath[str],
    document: FromPath[str],
    public: NamedDependency[PublicService],
    settings: NamedDependency[Settings],
) -> Response[bytes]:
    # Path parameters are whole segments: the ".xml" is part of the document's name.
    notice_id = document.removesuffix(".xml")
    outage = await public.get(outage_id)
    update = None if outage is None else next((u for u in outage.updates if u.notice == notice_id), None)
    if outage is None or update is None or not is_public(outage.kind):
        raise NotFound(f"no published notice {outage_id}/{notice_id}", rule="published")
    # A published alert never changes: its notice names it.
    headers = validators(f'"{outage_id}/{notice_id}"', update.published_at, 3600)
    if unchanged(request, headers["ETag"], update.published_at):
        return not_modified(headers)
    body = _xml("cap.xml", a=_cap(settings, outage, notice_id))
    return Response(body, media_type="application/cap+xml", headers=headers)


@get("/feeds/{region:str}/cap.atom", include_in_schema=False)
async def cap_index(
    request: Request[Any, Any, Any],
    region: FromPath[str],
    public: NamedDependency[PublicService],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    rendered: NamedDependency[RenderedCache],
) -> Response[bytes]:
    """The current alert of every outage still on the list: its latest notice."""
    render = partial(_cap_index, region, public, settings, clock)
    return await _conditional(
        request, public, clock, rendered, render, media_type="application/atom+xml", max_age=60
    )


async def _cap_index(region: str, public: PublicService, settings: Settings, clock: Clock) -> bytes:
    now = clock()
    entries = []
    for outage in await public.visible(region, now):
        latest = outage.updates[-1].notice
        alert = _cap(settings, outage, latest)
        entries.append(
            {
                "cap": _cap_url(settings, outage.id, latest),
                "title": alert.infos[0].headline,
                "updated": alert.sent,
                "summary": alert.infos[0].description,
                "msg_type": alert.msg_type,
                "urgency": alert.urgency,
                "severity": alert.severity,
                "certainty": alert.certainty,
                "area_desc": alert.area_desc,
            }
        )
    return _xml(
        "cap_index.atom",
        base=settings.public_base_url,
        region=region,
        region_name=region_name(region),
        updated=max((e["updated"] for e in entries), default=cap_time(now, settings.zone)),
        entries=entries,
        sender_name=f"国家电网{settings.hotline}",
    )


@get("/feeds/{region:str}/outages.ics", include_in_schema=False)
async def calendar_feed(
    request: Request[Any, Any, Any],
    region: FromPath[str],
    public: NamedDependency[PublicService],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    rendered: NamedDependency[RenderedCache],
) -> Response[bytes]:
    """Planned and temporary outages of a region, for a calendar app to subscribe to."""
    render = partial(_calendar, region, public, settings, clock)
    # Litestar adds "; charset=utf-8" to text/ types itself.
    return await _conditional(
        request, public, clock, rendered, render, media_type="text/calendar", max_age=300
    )


async def _calendar(region: str, public: PublicService, settings: Settings, clock: Clock) -> bytes:
    now = clock()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//State Grid 95598//outage-notice//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"停电计划 {region_name(region)}")
    calendar.add("x-wr-timezone", settings.timezone)
    host = urlsplit(settings.public_base_url).hostname or "localhost"
    for outage in await public.visible(region, now):
        if outage.kind not in SCHEDULED_KINDS:
            continue
        event = icalendar.Event()
        event.add("uid", f"{outage.id}@{host}")
        event.add("dtstamp", _utc(outage.updated_at))
        event.add("last-modified", _utc(outage.updated_at))
        # Calendar apps replace an event with a higher SEQUENCE: one step per published change.
        event.add("sequence", len(outage.updates) - 1)
        event.add("dtstart", _utc(outage.starts_at))
        event.add("dtend", _utc(outage.restored_at or outage.ends_at or outage.starts_at))
        event.add("summary", f"停电 Power outage: {outage.title}")
        event.add("location", outage.area_description)
        event.add("description", f"{outage.reason}\n{settings.public_base_url}/outages/{outage.id}")
        event.add("url", f"{settings.public_base_url}/outages/{outage.id}")
        event.add("status", "CANCELLED" if phase(outage, now) == "cancelled" else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    body: bytes = calendar.to_ical()
    return body


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
