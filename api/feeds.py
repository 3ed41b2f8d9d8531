"""Feeds of the public outages: Atom, CAP 1.2 alerts with an Atom index, iCalendar."""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import icalendar
import jinja2
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from redis.asyncio import Redis

from publishers.sms_text import TEMPLATES
from schemas.cap import cap_alert, cap_time
from schemas.clock import Clock
from schemas.errors import NotFound
from schemas.kinds import OutageKind
from schemas.public import PublicOutage, is_public, phase
from schemas.regions import region_name
from schemas.settings import Settings
from store.web import WebStore

FEED_ENTRIES = 100
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES / "feeds"), autoescape=True, undefined=jinja2.StrictUndefined
)
EVENT_TITLE = {"new": "停电通知", "postponed": "停电改期", "cancelled": "停电取消",
               "restoration_delayed": "送电推迟", "restored": "恢复供电"}  # fmt: skip


def _xml(template: str, media_type: str, **context: Any) -> Response[str]:
    return Response(
        _env.get_template(template).render(**context),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=60"},
    )


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
    region: FromPath[str],
    redis: NamedDependency[Redis],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> Response[str]:
    notices = await WebStore(redis).notices(region, FEED_ENTRIES)
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
        "application/atom+xml",
        base=settings.public_base_url,
        region=region,
        region_name=region_name(region),
        updated=updated,
        entries=entries,
        sender_name=f"国家电网{settings.hotline}",
    )


@get("/feeds/cap/{outage_id:str}/{document:str}", include_in_schema=False)
async def cap_document(
    outage_id: FromPath[str],
    document: FromPath[str],
    redis: NamedDependency[Redis],
    settings: NamedDependency[Settings],
) -> Response[str]:
    # Path parameters are whole segments: the ".xml" is part of the document's name.
    notice_id = document.removesuffix(".xml")
    outage = await WebStore(redis).get(outage_id)
    if outage is None or not is_public(outage.kind) or all(u.notice != notice_id for u in outage.updates):
        raise NotFound(f"no published notice {outage_id}/{notice_id}", rule="published")
    return _xml("cap.xml", "application/cap+xml", a=_cap(settings, outage, notice_id))


@get("/feeds/{region:str}/cap.atom", include_in_schema=False)
async def cap_index(
    region: FromPath[str],
    redis: NamedDependency[Redis],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> Response[str]:
    """The current alert of every outage still on the list: its latest notice."""
    now = clock()
    entries = []
    for outage in await WebStore(redis).visible(region, now):
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
        "application/atom+xml",
        base=settings.public_base_url,
        region=region,
        region_name=region_name(region),
        updated=max((e["updated"] for e in entries), default=cap_time(now, settings.zone)),
        entries=entries,
        sender_name=f"国家电网{settings.hotline}",
    )


@get("/feeds/{region:str}/outages.ics", include_in_schema=False)
async def calendar_feed(
    region: FromPath[str],
    redis: NamedDependency[Redis],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> Response[bytes]:
    """Planned and temporary outages of a region, for a calendar app to subscribe to."""
    now = clock()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//State Grid 95598//outage-notice//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"停电计划 {region}")
    calendar.add("x-wr-timezone", settings.timezone)
    host = urlsplit(settings.public_base_url).hostname or "localhost"
    for outage in await WebStore(redis).visible(region, now):
        if outage.kind not in (OutageKind.PLANNED, OutageKind.TEMPORARY):
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
    return Response(
        calendar.to_ical(),
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
