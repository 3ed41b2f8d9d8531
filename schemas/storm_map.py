"""The storm map without a tile server: the outage polygons projected onto an SVG canvas, pure.

A record's polygon is [latitude, longitude] pairs (as submitted). Longitude is scaled by the
cosine of the middle latitude (equirectangular), so a district keeps its shape; north is up.
"""

import math
from datetime import datetime

import msgspec

from schemas.public import PublicOutage, phase

WIDTH = 640.0
MARGIN = 8.0


class Shape(msgspec.Struct, frozen=True, kw_only=True):
    outage_id: str
    title: str
    phase: str
    points: str


class MapView(msgspec.Struct, frozen=True, kw_only=True):
    width: float
    height: float
    shapes: list[Shape]
    # Published outages without a polygon: listed under the map instead.
    unplaced: list[PublicOutage]


def storm_map(outages: list[PublicOutage], now: datetime) -> MapView:
    placed: list[PublicOutage] = []
    unplaced: list[PublicOutage] = []
    for outage in outages:
        if phase(outage, now) != "cancelled":
            (placed if outage.polygon and len(outage.polygon) >= 3 else unplaced).append(outage)
    if not placed:
        return MapView(width=WIDTH, height=0.0, shapes=[], unplaced=unplaced)
    latitudes = [lat for o in placed for lat, _ in o.polygon or []]
    longitudes = [lon for o in placed for _, lon in o.polygon or []]
    south, north, west, east = min(latitudes), max(latitudes), min(longitudes), max(longitudes)
    squeeze = math.cos(math.radians((south + north) / 2))
    span_x = max((east - west) * squeeze, 1e-6)
    span_y = max(north - south, 1e-6)
    scale = (WIDTH - 2 * MARGIN) / max(span_x, span_y)
    height = span_y * scale + 2 * MARGIN

    def point(lat: float, lon: float) -> str:
        x = MARGIN + (lon - west) * squeeze * scale
        y = MARGIN + (north - lat) * scale
        return f"{x:.1f},{y:.1f}"

    shapes = [
        Shape(
            outage_id=o.id,
            title=f"{o.area_description} · {o.title}",
            phase=phase(o, now),
            points=" ".join(point(lat, lon) for lat, lon in o.polygon or []),
        )
        for o in placed
    ]
    return MapView(width=WIDTH, height=round(height, 1), shapes=shapes, unplaced=unplaced)


def bars(
    values: list[int | None], width: float = WIDTH, height: float = 120.0
) -> list[tuple[float, float, float]]:
    """(x, y, bar height) of a bar per value on a `width` x `height` chart; a hidden count
    (None, "< N") is drawn as an empty bar."""
    known = [v for v in values if v is not None]
    top = max(known, default=0) or 1
    step = width / max(len(values), 1)
    drawn = []
    for n, value in enumerate(values):
        h = 0.0 if value is None else height * value / top
        drawn.append((round(n * step, 1), round(height - h, 1), round(h, 1)))
    return drawn
