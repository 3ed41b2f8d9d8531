"""The storm view: /api/v1/public/summary and /storm, from published records and the registry."""

import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import msgspec
from arq.connections import ArqRedis

from schemas.kinds import Role
from store.api_keys import ApiKeyStore
from store.customers import CustomerStore
from tests.asgi import app_client
from tests.bodies import fault_body, iso
from tests.conftest import OTHER_REGION, REGION, FakeClock, Keys
from tests.customers import load, phone, row
from tests.flows import approve, submit_and_approve

# Around Zhangjiang, [latitude, longitude] as dispatch sends it.
SQUARE = [[31.20, 121.58], [31.20, 121.60], [31.22, 121.60], [31.22, 121.58], [31.20, 121.58]]


async def _storm(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> dict[str, Any]:
    # 40 customers in the region: A00-A19 on feeder F1 (area T1 for A10-A19), A20-A29 in area T1 on
    # feeder F2, A30-A39 elsewhere; 3 in the other region.
    rows = [row(f"A{n:02d}", phone(n), feeder="F1", area="T1" if n >= 10 else "T0") for n in range(20)]
    rows += [row(f"A{n:02d}", phone(n), feeder="F2", area="T1") for n in range(20, 30)]
    rows += [row(f"A{n:02d}", phone(n), feeder="F3", area="T3") for n in range(30, 40)]
    rows += [row(f"B{n}", phone(100 + n), region=OTHER_REGION, feeder="G1", area="U1") for n in range(3)]
    await load(redis, *rows)
    feeder = await submit_and_approve(
        client, keys, fault_body(clock(), external_id="F-1", scope={"feeders": ["F1"]}, polygon=SQUARE)
    )
    # Overlaps the first on A10-A19: those are out once.
    area = await submit_and_approve(
        client, keys, fault_body(clock(), external_id="F-2", scope={"transformer_areas": ["T1"]})
    )
    created = await client.post(
        "/api/v1/outages",
        json=fault_body(clock(), external_id="F-3", region=OTHER_REGION, scope={"feeders": ["G1"]}),
        headers=keys.headers("other"),
    )
    assert created.status_code == 201, created.text
    # Another person approves (four eyes): a reviewer of that region.
    _, secret = await ApiKeyStore(redis).create(
        name="other-reviewer", centre=f"centre-{OTHER_REGION}", region=OTHER_REGION,
        roles=frozenset({Role.REVIEWER}), now=clock(),
    )  # fmt: skip
    keys.secrets["other-reviewer"] = secret
    small = (await approve(client, keys, created.json()["id"], "other-reviewer")).json()
    await run_channels()
    return {"feeder": feeder, "area": area, "small": small}


async def test_the_summary_counts_each_customer_once_and_hides_small_counts(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    made = await _storm(client, keys, clock, redis, run_channels)
    assert made["small"]["status"] == "published", made["small"]
    response = await client.get("/api/v1/public/summary")
    assert response.status_code == 200
    summary = response.json()
    # A00-A19 and A10-A29: 30 distinct in the region, not 40; plus 3 elsewhere (hidden, < 10).
    assert summary["customers_out"] == {"value": 33, "shown": "33"}
    assert summary["outages_active"] == 3
    districts = {d["region"]: d for d in summary["districts"]}
    here = districts[REGION]
    assert here["name"] == "上海市浦东新区" and here["outages"] == 2
    assert here["customers_out"] == {"value": 30, "shown": "30"}
    assert here["share"] == 0.75, "30 of the region's 40 registered customers"
    there = districts[OTHER_REGION]
    assert there["customers_out"] == {"value": None, "shown": "< 10"} and there["share"] is None
    assert "B0" not in response.text and phone(100) not in response.text
    assert summary["trend"][-1]["customers_out"]["value"] == 33
    assert [d["region"] for d in summary["districts"]] == [REGION, OTHER_REGION], "most customers out first"
    again = await client.get("/api/v1/public/summary", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    only_here = (await client.get(f"/api/v1/public/summary?region={REGION}")).json()
    assert only_here["customers_out"]["value"] == 30 and len(only_here["districts"]) == 1


async def test_restoration_moves_customers_from_out_to_restored_but_not_those_still_out(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    made = await _storm(client, keys, clock, redis, run_channels)
    before = await client.get("/api/v1/public/summary")
    clock.advance(hours=2)
    changed = await client.post(
        f"/api/v1/outages/{made['area']['id']}/changes",
        json={"type": "restored", "reason": "Repaired", "restored_at": iso(clock() - timedelta(minutes=5))},
        headers=keys.headers("submitter"),
    )
    assert changed.status_code in (200, 201), changed.text
    assert (await approve(client, keys, made["area"]["id"])).json()["status"] == "restored"
    await run_channels()
    summary = (await client.get("/api/v1/public/summary")).json()
    # A20-A29 are back; A10-A19 were in the restored outage too but are still out on F1.
    assert summary["customers_out"]["value"] == 23
    assert summary["customers_restored_24h"] == {"value": 10, "shown": "10"}
    assert summary["outages_active"] == 2
    at = {p["at"]: p["customers_out"]["value"] for p in summary["trend"]}
    assert len(summary["trend"]) >= 24 and max(v or 0 for v in at.values()) == 33, "an hour ago 33 were out"
    assert before.headers["etag"] != (await client.get("/api/v1/public/summary")).headers["etag"]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.polygons: list[dict[str, str | None]] = []
        self.rows: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        if tag == "polygon":
            self.polygons.append(found)
        if tag == "tr" and "data-region" in found:
            self.rows.append(found["data-region"])


async def test_the_storm_page_shows_totals_districts_trend_and_a_linked_map_without_javascript(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    made = await _storm(client, keys, clock, redis, run_channels)
    page = await client.get("/storm")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parsed = _Page()
    parsed.feed(page.text)
    assert re.search(r'id="customers-out">33<', page.text)
    assert parsed.rows == [REGION, OTHER_REGION] and "&lt; 10" in page.text
    [square] = parsed.polygons
    assert "in_progress" in (square["class"] or "")
    points = [tuple(map(float, p.split(","))) for p in (square["points"] or "").split()]
    assert len(points) == 5 and all(0 <= x <= 640 and y >= 0 for x, y in points)
    # North is up: the ring's northern corners (31.22) are drawn above its southern ones.
    assert points[2][1] < points[0][1]
    assert f"/outages/{made['feeder']['id']}" in parsed.links, "the area links to its outage"
    assert f"/outages/{made['area']['id']}" in parsed.links, "an outage without a polygon is listed instead"
    english = await client.get("/storm?lang=en")
    assert "Customers without power" in english.text


async def test_the_list_opens_on_the_storm_summary_from_the_threshold(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any, settings: Any
) -> None:
    await _storm(client, keys, clock, redis, run_channels)
    # Three faults in progress, below the default threshold (20): the list as usual, with a link.
    page = (await client.get("/")).text
    assert 'id="storm"' not in page and 'href="/storm"' in page
    assert settings.storm_threshold == 20
    # From the threshold on, the list opens on the overview, then the cards.
    settings_at_three = msgspec.structs.replace(settings, storm_threshold=3)
    async with app_client(settings_at_three, redis, clock) as storm_client:
        stormy = (await storm_client.get("/")).text
    assert stormy.index('id="storm"') < stormy.index('id="outages"')
    assert re.search(r'id="customers-out">33<', stormy)


async def test_the_registry_counts_its_customers_per_region(redis: ArqRedis) -> None:
    await load(redis, row("C1", phone(1)), row("C2", phone(2)), row("C3", phone(3), region=OTHER_REGION))
    store = CustomerStore(redis)
    assert await store.registered([REGION, OTHER_REGION]) == {REGION: 2, OTHER_REGION: 1}
    await load(redis, row("C2", phone(2), region=OTHER_REGION), row("C1", phone(1)))
    assert await store.registered([REGION, OTHER_REGION]) == {REGION: 1, OTHER_REGION: 2}
    assert await store.remove(["C3"]) == 1
    assert await store.registered([REGION, OTHER_REGION]) == {REGION: 1, OTHER_REGION: 1}


async def test_the_dispatch_storm_view_shows_what_the_public_does_not(
    client: httpx.AsyncClient, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    made = await _storm(client, keys, clock, redis, run_channels)
    # A fault located 25 minutes ago and not yet approved: its 20 minutes are over.
    late = await client.post(
        "/api/v1/outages",
        json=fault_body(clock(), located_minutes_ago=25, external_id="F-LATE", scope={"feeders": ["F3"]}),
        headers=keys.headers("submitter"),
    )
    waiting = await client.post(
        "/api/v1/outages",
        json=fault_body(clock(), located_minutes_ago=5, external_id="F-NEW", scope={"feeders": ["F9"]}),
        headers=keys.headers("submitter"),
    )
    # A customer's report nothing explains opens a repair order (A35 is on F3, not yet published).
    report = await client.post("/api/v1/reports", json={"account": "A35"}, headers=keys.headers("agent"))
    assert report.status_code == 201, report.text
    view = await client.get("/api/v1/dispatch/storm", headers=keys.headers("reviewer"))
    assert view.status_code == 200, view.text
    storm = view.json()
    assert storm["region"] == REGION
    # Exact counts for dispatch, its own region only.
    assert storm["summary"]["customers_out"] == {"value": 30, "shown": "30"}
    assert [d["region"] for d in storm["summary"]["districts"]] == [REGION]
    assert [i["outage_id"] for i in storm["fault_clock_breached"]] == [late.json()["id"]]
    assert [i["outage_id"] for i in storm["fault_clock_running"]] == [waiting.json()["id"]]
    assert storm["repair_orders_open"] == 1
    shares = {d["outage_id"]: d for d in storm["deliveries"]}
    assert set(shares) == {made["feeder"]["id"], made["area"]["id"]}
    assert shares[made["feeder"]["id"]]["recipients"] == 20 and shares[made["feeder"]["id"]]["share"] == 1.0
    assert made["small"]["id"] not in shares, "another region's outage"
    public = (await client.get("/api/v1/public/summary")).text
    assert late.json()["id"] not in public and "repair" not in public
    refused = await client.get("/api/v1/dispatch/storm", headers=keys.headers("agent"))
    assert refused.status_code == 403 and "role" in refused.text
    assert (await client.get("/api/v1/dispatch/storm")).status_code == 401
