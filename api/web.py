"""Public pages: current and upcoming outages, one outage, "is my supply affected?", live updates."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from api.cache import RenderedCache, cache_key
from api.web_text import PUBLIC_KINDS, TEXT, language_of
from schemas.clock import Clock
from schemas.errors import NotFound
from schemas.kinds import OutageKind
from schemas.public import PublicOutage, WebEvent, customer_order, is_public, phase
from schemas.regions import region_name, zone_name
from schemas.settings import Settings
from schemas.storm_map import bars, storm_map
from services.live import Broadcaster
from services.public import PublicService
from services.storm import StormService

KEEPALIVE_SECONDS = 15.0

Query = Annotated[str | None, QueryParameter()]


def page_context(
    request: Request[Any, Any, Any], settings: Settings, now: datetime, lang: str | None
) -> dict[str, Any]:
    language = language_of(lang)
    params = {k: v for k, v in request.query_params.items() if k not in ("lang", "partial")}
    other = "en" if language == "zh-CN" else "zh-CN"
    zone = settings.zone

    def local(moment: datetime | None) -> str:
        return "—" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return {
        "lang": language,
        "t": TEXT[language],
        "switch_url": f"{request.url.path}?{urlencode({**params, 'lang': other})}",
        "lang_query": "" if language == "zh-CN" else "lang=en",
        "local": local,
        "iso": lambda moment: moment.astimezone(zone).isoformat(),
        "phase": lambda outage: phase(outage, now),
        "now": now,
        "timezone": zone_name(settings.timezone, language),
        "region_name": region_name,
    }


@get(["/", "/outages"], include_in_schema=False)
async def outage_list(
    request: Request[Any, Any, Any],
    public: NamedDependency[PublicService],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    rendered: NamedDependency[RenderedCache],
    storm: NamedDependency[StormService],
    region: Query = None,
    kind: Query = None,
    lang: Query = None,
    partial: Query = None,
) -> Response[bytes]:
    now = clock()

    async def page() -> tuple[str, dict[str, Any]]:
        outages = customer_order(await public.visible(region or None, now), now)
        context = page_context(request, settings, now, lang)
        context["storm_on_top"] = False
        faults_out = sum(1 for o in outages if o.kind is OutageKind.FAULT and phase(o, now) == "in_progress")
        if faults_out >= settings.storm_threshold and not partial:
            # A storm: the page opens on the overview; the cards follow.
            context.update(
                await storm_context(storm, outages, now, region or None, settings), storm_on_top=True
            )
        if kind:
            outages = [o for o in outages if o.kind.value == kind]
        context.update(
            outages=outages,
            region=region or "",
            kind=kind or "",
            regions=await public.regions(),
            kinds=PUBLIC_KINDS,
        )
        return ("web/_outages.html" if partial else "web/list.html"), context

    return await cached_page(request, public, rendered, now, page)


@get("/storm", include_in_schema=False)
async def storm_page(
    request: Request[Any, Any, Any],
    public: NamedDependency[PublicService],
    storm: NamedDependency[StormService],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    rendered: NamedDependency[RenderedCache],
    region: Query = None,
    lang: Query = None,
    partial: Query = None,
) -> Response[bytes]:
    """The storm view: totals, districts, the last day's trend and a map, for the public."""
    now = clock()

    async def page() -> tuple[str, dict[str, Any]]:
        context = page_context(request, settings, now, lang)
        shown = await public.visible(region or None, now)
        context.update(await storm_context(storm, shown, now, region or None, settings))
        return ("web/_storm.html" if partial else "web/storm.html"), context

    return await cached_page(request, public, rendered, now, page)


async def cached_page(
    request: Request[Any, Any, Any],
    public: PublicService,
    rendered: RenderedCache,
    now: datetime,
    page: Callable[[], Awaitable[tuple[str, dict[str, Any]]]],
) -> Response[bytes]:
    """A public page rendered once per (path, query, published version, minute): `page` gives
    its template and context."""
    key = cache_key(request.url.path, request.url.query, await public.version(), now)

    async def render() -> bytes:
        name, context = await page()
        html: str = request.app.template_engine.get_template(name).render(**context)  # type: ignore[union-attr]
        return html.encode()

    response = await rendered.through(key, render, media_type=MediaType.HTML)
    return Response(response.body, media_type=MediaType.HTML)


async def storm_context(
    storm: StormService, shown: list[PublicOutage], now: datetime, region: str | None, settings: Settings
) -> dict[str, Any]:
    """The storm block's figures, map and chart, of the published outages a page has read."""
    summary = await storm.summary_of(shown, now)
    return {
        "summary": summary,
        "map": storm_map([o for o in shown if is_public(o.kind)], now),
        "bars": bars([p.customers_out.value for p in summary.trend]),
        "min_count": settings.storm_min_count,
        "region": region or "",
    }


@get("/outages/{outage_id:str}", include_in_schema=False)
async def outage_page(
    request: Request[Any, Any, Any],
    outage_id: FromPath[str],
    public: NamedDependency[PublicService],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    lang: Query = None,
) -> Template:
    outage = await public.get(outage_id)
    if outage is None or not is_public(outage.kind):
        raise NotFound(f"no published outage {outage_id}", rule="published")
    context = page_context(request, settings, clock(), lang)
    context.update(outage=outage)
    return Template(template_name="web/outage.html", context=context)


@get("/lookup", include_in_schema=False)
async def lookup_page(
    request: Request[Any, Any, Any],
    public: NamedDependency[PublicService],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
    q: Query = None,
    lang: Query = None,
) -> Template:
    context = page_context(request, settings, clock(), lang)
    query = (q or "").strip()
    found: list[PublicOutage] | None = None
    unknown_account = False
    if query:
        result = await public.lookup(query, clock())
        found, unknown_account = result.outages, result.unknown_account
    context.update(q=query, found=found, unknown_account=unknown_account)
    return Template(template_name="web/lookup.html", context=context)


@get("/events", include_in_schema=False)
async def live_events(broadcaster: NamedDependency[Broadcaster], region: Query = None) -> ServerSentEvent:
    def message(event: WebEvent) -> ServerSentEventMessage | None:
        # RESYNC (no region) goes to everyone: events may have been missed.
        if region and event.region and event.region != region:
            return None
        return ServerSentEventMessage(data=event.outage_id, event="outage", id=str(event.version))

    return await live_stream(broadcaster, message)


async def live_stream(
    broadcaster: Broadcaster,
    message: Callable[[WebEvent], ServerSentEventMessage | None],
    *,
    dispatch: bool = False,
) -> ServerSentEvent:
    """A live page's event stream: `message` turns each event into what the page gets (None:
    not for it); a keep-alive comment when idle; the end when the service stops."""
    # Before the 200 goes out: a page whose subscription cannot be made gets a 503 and retries.
    await broadcaster.start()

    async def stream() -> AsyncIterator[ServerSentEventMessage]:
        async with broadcaster.subscription(dispatch=dispatch) as queue:
            yield ServerSentEventMessage(comment="connected", retry=3000)
            while True:
                try:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can drop the cancel of
                    # a client that went away (tests/test_shutdown.py).
                    async with asyncio.timeout(KEEPALIVE_SECONDS):
                        event = await queue.get()
                except TimeoutError:
                    yield ServerSentEventMessage(comment="keep-alive")
                    continue
                if event is None:
                    return
                sent = message(event)
                if sent is not None:
                    yield sent

    return ServerSentEvent(stream())
