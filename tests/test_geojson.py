"""GET /api/v1/public/outages.geojson, checked by parsing against RFC 7946's rules."""

import itertools
import json
from typing import Any

import httpx

from schemas.geojson import exterior_ring
from tests.conftest import FakeClock, Keys
from tests.test_web import POLYGON, _world


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))


def check_rfc7946(collection: dict[str, Any]) -> None:
    assert collection["type"] == "FeatureCollection"
    for item in collection["features"]:
        assert item["type"] == "Feature" and "properties" in item and "geometry" in item
        geometry = item["geometry"]
        if geometry is None:
            continue
        assert geometry["type"] == "Polygon"
        for n, ring in enumerate(geometry["coordinates"]):
            assert len(ring) >= 4 and ring[0] == ring[-1], "a linear ring is closed, 4+ positions (3.1.6)"
            for lon, lat in ring:
                assert -180 <= lon <= 180 and -90 <= lat <= 90, "positions are [longitude, latitude] (3.1.1)"
            exterior = n == 0
            assert (_signed_area(ring) > 0) == exterior, "exterior counter-clockwise, holes clockwise (3.1.6)"


async def test_the_public_outages_as_geojson_follow_rfc_7946_and_hide_what_the_list_hides(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    made = await _world(client, keys, clock, run_channels)
    response = await client.get("/api/v1/public/outages.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = json.loads(response.content)
    check_rfc7946(collection)
    by_id = {f["id"]: f for f in collection["features"]}
    listed = {o["id"] for o in (await client.get("/api/v1/public/outages")).json()["items"]}
    assert set(by_id) == listed, "the map shows what the list shows"
    assert made["arrears"]["id"] not in by_id and "SECRET" not in response.text
    planned = by_id[made["planned"]["id"]]
    [ring] = planned["geometry"]["coordinates"]
    # Given clockwise as [latitude, longitude]; served counter-clockwise as [longitude, latitude].
    assert ring[0] == [121.58, 31.2] and sorted(map(tuple, ring[:-1])) == sorted(
        (lon, lat) for lat, lon in POLYGON[:-1]
    )
    assert planned["properties"]["region_name"] == "上海市浦东新区"
    assert planned["properties"]["url"].endswith(f"/outages/{made['planned']['id']}")
    assert by_id[made["fault"]["id"]]["geometry"] is None, "no polygon: a null geometry, still listed"
    again = await client.get(
        "/api/v1/public/outages.geojson", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


async def test_a_private_kind_asked_for_by_name_is_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/public/outages.geojson?kind=arrears")
    assert response.status_code == 422 and "kind" in response.text


def test_an_open_or_clockwise_ring_is_closed_and_turned() -> None:
    clockwise_open = [(31.20, 121.58), (31.21, 121.60), (31.19, 121.61)]
    ring = exterior_ring(clockwise_open)
    assert ring[0] == ring[-1] and len(ring) == 4 and _signed_area(ring) > 0
