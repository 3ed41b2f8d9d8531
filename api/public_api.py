"""The public outage list as JSON, cacheable: ETag, Cache-Control, 304 on a matching If-None-Match."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from api.cache import RenderedCache, cache_key
from api.conditional import etag_of, not_modified, unchanged, validators
from schemas.clock import Clock
from schemas.errors import Unprocessable
from schemas.geojson import OutageFeatureCollection, feature, feature_collection
from schemas.kinds import OutageKind
from schemas.public import PublicOutage, customer_order, is_public, phase
from schemas.settings import Settings
from schemas.storm import StormSummary
from services.public import PublicService
from services.storm import StormService

PHASES = ("upcoming", "in_progress", "restored", "cancelled")


class PublicOutageView(PublicOutage, kw_only=True):
    phase: str


class PublicOutageList(msgspec.Struct):
    generated_at: datetime
    items: list[PublicOutageView]


def refuse_private(kind: OutageKind | None) -> None:
    if kind is not None and not is_public(kind):
        raise Unprocessable(f"kind: {kind.value} notices are not public", field="kind", rule="public_kind")


async def cached_response(
    request: Request[Any, Any, Any],
    public: PublicService,
    rendered: RenderedCache,
    now: datetime,
    media_type: str,
    render: Callable[[], Awaitable[bytes]],
) -> Response[bytes]:
    """The body for this request, the published version and the minute, rendered once; 304 when
    the client has it."""
    key = cache_key(request.url.path, request.url.query, await public.version(), now)
    headers = validators(etag_of(key), None, 30)
    if unchanged(request, headers["ETag"]):
        return not_modified(headers)
    response = await rendered.through(key, render, media_type=media_type, headers=headers)
    return Response(response.body, media_type=media_type, headers=headers)


@get(
    "/api/v1/public/outages",
    tags=["public"],
    summary="Published outages, current and upcoming (no key needed)",
    description=(
        "Cacheable: the ETag changes when a notice is published or a minute passes (phases move with "
        "time). Send If-None-Match to get 304."
    ),
    # The body is encoded ahead (and cached), so the schema is declared rather than inferred.
    responses={
        200: ResponseSpec(data_container=PublicOutageList, description="Published outages with their phase")
    },
)
async def public_outages(
    request: Request[Any, Any, Any],
    public: NamedDependency[PublicService],
    clock: NamedDependency[Clock],
    rendered: NamedDependency[RenderedCache],
    region: Annotated[str | None, QueryParameter()] = None,
    kind: Annotated[OutageKind | None, QueryParameter()] = None,
    status: Annotated[
        str | None, QueryParameter(description="upcoming, in_progress, restored or cancelled")
    ] = None,
) -> Response[bytes]:
    if status is not None and status not in PHASES:
        raise Unprocessable(f"status: one of {', '.join(PHASES)}", field="status", rule="one_of")
    refuse_private(kind)
    now = clock()

    async def render() -> bytes:
        items = []
        for outage in customer_order(await public.visible(region, now), now):
            current = phase(outage, now)
            if (kind is None or outage.kind is kind) and (status is None or current == status):
                items.append(PublicOutageView(**msgspec.structs.asdict(outage), phase=current))
        return msgspec.json.encode(PublicOutageList(generated_at=now, items=items))

    return await cached_response(request, public, rendered, now, "application/json", render)


@get(
    "/api/v1/public/outages.geojson",
    tags=["public"],
    summary="Published outages as GeoJSON (RFC 7946), for maps (no key needed)",
    description=(
        "A FeatureCollection: each outage's area as a Polygon ([longitude, latitude], exterior ring "
        "counter-clockwise, closed), or a null geometry when its record has no polygon; properties "
        "say its kind, phase, reason, times and page. Same filters and caching as /api/v1/public/outages."
    ),
    media_type="application/geo+json",
    responses={
        200: ResponseSpec(
            data_container=OutageFeatureCollection,
            description="A GeoJSON FeatureCollection of the published outages",
            media_type="application/geo+json",
        )
    },
)
async def public_outages_geojson(
    request: Request[Any, Any, Any],
    public: NamedDependency[PublicService],
    clock: NamedDependency[Clock],
    rendered: NamedDependency[RenderedCache],
    settings: NamedDependency[Settings],
    region: Annotated[str | None, QueryParameter()] = None,
    kind: Annotated[OutageKind | None, QueryParameter()] = None,
) -> Response[bytes]:
    refuse_private(kind)
    now = clock()

    async def render() -> bytes:
        base = settings.public_base_url
        features = [
            feature(outage, now, f"{base}/outages/{outage.id}")
            for outage in customer_order(await public.visible(region, now), now)
            if kind is None or outage.kind is kind
        ]
        return msgspec.json.encode(feature_collection(features))

    return await cached_response(request, public, rendered, now, "application/geo+json", render)


@get(
    "/api/v1/public/summary",
    tags=["public"],
    summary="The storm view's figures: customers out, by district, the last day's trend (no key needed)",
    description=(
        "Customers out now (each counted once, however many outages reach them), outages in progress, "
        "customers restored in the last 24 hours, a row per district (administrative division) with "
        "its customers out, their share of its registered customers and the earliest and latest "
        "expected restoration, and customers out at each full hour of the last day. A count below "
        'STORM_MIN_COUNT is given as null with `shown` reading "< N". Cacheable like '
        "/api/v1/public/outages (ETag, 304)."
    ),
    responses={200: ResponseSpec(data_container=StormSummary, description="The storm's figures")},
)
async def public_summary(
    request: Request[Any, Any, Any],
    public: NamedDependency[PublicService],
    storm: NamedDependency[StormService],
    clock: NamedDependency[Clock],
    rendered: NamedDependency[RenderedCache],
    region: Annotated[str | None, QueryParameter()] = None,
) -> Response[bytes]:
    now = clock()

    async def render() -> bytes:
        return msgspec.json.encode(await storm.summary(now, region))

    return await cached_response(request, public, rendered, now, "application/json", render)
