"""Published outages as GeoJSON (RFC 7946), for anyone who wants them on their own map.

Pure: plain values in, a FeatureCollection out. Records keep their polygon as [latitude,
longitude] points (the CAP order); GeoJSON wants [longitude, latitude] and an exterior ring
counter-clockwise (RFC 7946 3.1.6), closed (3.1.1). A record without a polygon is a Feature with
a null geometry (3.2), so the list and the map agree on what is out.
"""

import itertools
from datetime import datetime
from typing import Literal

import msgspec

from schemas.public import PublicOutage, phase
from schemas.regions import region_name


def _signed_area(ring: list[list[float]]) -> float:
    """Twice the area enclosed, positive when the ring runs counter-clockwise (x = longitude)."""
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))


def exterior_ring(points: list[tuple[float, float]]) -> list[list[float]]:
    """[latitude, longitude] points as a closed, counter-clockwise ring of [longitude, latitude]."""
    ring = [[lon, lat] for lat, lon in points]
    if ring[0] != ring[-1]:
        ring.append(list(ring[0]))
    if _signed_area(ring) < 0:
        ring.reverse()
    return ring


class PolygonGeometry(msgspec.Struct, frozen=True):
    coordinates: list[list[list[float]]]
    type: Literal["Polygon"] = "Polygon"


class OutageProperties(msgspec.Struct, frozen=True):
    kind: str
    phase: str
    title: str
    reason: str
    region: str
    region_name: str
    area_description: str
    starts_at: datetime
    ends_at: datetime | None
    restored_at: datetime | None
    url: str


class OutageFeature(msgspec.Struct, frozen=True):
    id: str
    # None: the record has no polygon (a null geometry, RFC 7946 3.2).
    geometry: PolygonGeometry | None
    properties: OutageProperties
    type: Literal["Feature"] = "Feature"


class OutageFeatureCollection(msgspec.Struct, frozen=True):
    features: list[OutageFeature]
    type: Literal["FeatureCollection"] = "FeatureCollection"


def feature(outage: PublicOutage, now: datetime, page_url: str) -> OutageFeature:
    geometry = None
    if outage.polygon and len(outage.polygon) >= 3:
        geometry = PolygonGeometry(coordinates=[exterior_ring(outage.polygon)])
    return OutageFeature(
        id=outage.id,
        geometry=geometry,
        properties=OutageProperties(
            kind=outage.kind.value,
            phase=phase(outage, now),
            title=outage.title,
            reason=outage.reason,
            region=outage.region,
            region_name=region_name(outage.region),
            area_description=outage.area_description,
            starts_at=outage.starts_at,
            ends_at=outage.ends_at,
            restored_at=outage.restored_at,
            url=page_url,
        ),
    )


def feature_collection(features: list[OutageFeature]) -> OutageFeatureCollection:
    return OutageFeatureCollection(features=features)
