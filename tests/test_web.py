"""The public web channel: pages, lookup, the public JSON API and the feeds."""

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import httpx
import icalendar
from arq.connections import ArqRedis

from tests.asgi import app_client
from tests.bodies import fault_body, iso, outage_body
from tests.cap_rules import NS, check_cap
from tests.conftest import FakeClock, Keys
from tests.customers import HEADER, load, phone, row
from tests.flows import approve, submit_and_approve

Client = httpx.AsyncClient
ATOM = "{http://www.w3.org/2005/Atom}"
POLYGON = [[31.20, 121.58], [31.21, 121.598765], [31.1912345, 121.61], [31.20, 121.58]]


async def _change(client: Client, keys: Keys, outage_id: str, body: dict[str, Any]) -> None:
    await client.post(f"/api/v1/outages/{outage_id}/changes", json=body, headers=keys.headers("submitter"))
    await approve(client, keys, outage_id, "reviewer")


async def _world(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> dict[str, dict[str, Any]]:
    """A planned outage (later postponed), a fault, an arrears stoppage and a cancelled one."""
    planned = await submit_and_approve(
        client, keys, outage_body(clock(), external_id="P", title="Keyuan line maintenance", polygon=POLYGON,
                                  scope={"feeders": ["F1"], "transformer_areas": ["TA-1"]})
    )  # fmt: skip
    fault = await submit_and_approve(
        client, keys, fault_body(clock(), title="Huamu cable fault", scope={"feeders": ["F7"]})
    )
    imported = await client.post(
        "/api/v1/customers/import",
        content=HEADER + row("A42", phone(42), feeder="F9"),
        headers=keys.headers("submitter"),
    )
    assert imported.json()["rejected"] == 0, imported.text
    arrears = await submit_and_approve(
        client, keys, outage_body(clock(), external_id="AR", kind="arrears", days=4, title="SECRET-ARREARS",
                                  area_description="Account 42 at 18 Secret Road", scope={"accounts": ["A42"]})
    )  # fmt: skip
    cancelled = await submit_and_approve(
        client, keys, outage_body(clock(), external_id="C", title="Dropped work", days=9)
    )
    await run_channels()
    await _change(
        client,
        keys,
        planned["id"],
        {"type": "postpone", "reason": "Rain", "starts_at": iso(clock() + timedelta(days=10))},
    )
    await _change(client, keys, cancelled["id"], {"type": "cancel", "reason": "Merged into January"})
    await run_channels()
    return {"planned": planned, "fault": fault, "arrears": arrears, "cancelled": cancelled}


async def test_list_page_shows_public_outages_with_status_and_never_arrears(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    world = await _world(client, keys, clock, run_channels)
    page = await client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "Keyuan line maintenance" in html and "Huamu cable fault" in html and "Dropped work" in html
    assert "SECRET-ARREARS" not in html and "Secret Road" not in html
    assert "即将停电" in html and "正在停电" in html and "已取消" in html
    # Times in the deployment's zone.
    start = (clock() + timedelta(days=10)).strftime("%Y-%m-%d %H:%M")
    assert start in html
    english = (await client.get("/outages?lang=en&kind=fault")).text
    assert "Huamu cable fault" in english and "Keyuan line maintenance" not in english
    assert "In progress" in english and 'lang="en"' in english
    detail = (await client.get(f"/outages/{world['planned']['id']}?lang=en")).text
    assert "Outage announced" in detail and "Postponed" in detail and "Rain" in detail
    assert (await client.get(f"/outages/{world['arrears']['id']}")).status_code == 404
    partial = (await client.get("/outages?partial=1")).text
    assert partial.lstrip().startswith('<section id="outages"')


async def test_lookup_by_account_feeder_and_area(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1), feeder="F7", area="TA-7"), row("A42", phone(42), feeder="F9"))
    await _world(client, keys, clock, run_channels)
    by_account = (await client.get("/lookup?q=A1")).text
    assert "Huamu cable fault" in by_account and "Keyuan line maintenance" not in by_account
    assert "Keyuan line maintenance" in (await client.get("/lookup?q=TA-1")).text
    assert "Keyuan line maintenance" in (await client.get("/lookup?q=F1&lang=en")).text
    # The arrears customer looks up their own account: the stoppage is theirs, but never on the web.
    own = (await client.get("/lookup?q=A42")).text
    assert "SECRET-ARREARS" not in own and "没有查到" in own
    assert "没有查到" in (await client.get("/lookup?q=F404")).text


async def test_public_api_filters_and_caches(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    await _world(client, keys, clock, run_channels)
    response = await client.get("/api/v1/public/outages")
    assert response.status_code == 200
    body = response.json()
    assert sorted(o["title"] for o in body["items"]) == [
        "Dropped work",
        "Huamu cable fault",
        "Keyuan line maintenance",
    ]
    assert all("accounts" not in o for o in body["items"])
    assert response.headers["cache-control"] == "public, max-age=30"
    etag = response.headers["etag"]
    again = await client.get("/api/v1/public/outages", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    upcoming = (await client.get("/api/v1/public/outages?status=upcoming")).json()["items"]
    assert [o["title"] for o in upcoming] == ["Keyuan line maintenance"]
    assert (await client.get("/api/v1/public/outages?kind=arrears")).status_code == 422
    assert (await client.get("/api/v1/public/outages?status=soon")).status_code == 422
    clock.advance(minutes=1)
    assert (await client.get("/api/v1/public/outages", headers={"If-None-Match": etag})).status_code == 200


async def test_etag_changes_when_a_notice_is_published(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    first = await client.get("/api/v1/public/outages")
    await submit_and_approve(client, keys, fault_body(clock()))
    await run_channels()
    second = await client.get("/api/v1/public/outages", headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200
    assert len(second.json()["items"]) == 1


async def test_atom_feed_lists_each_published_notice(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    await _world(client, keys, clock, run_channels)
    response = await client.get("/feeds/310115/atom.xml")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall(ATOM + "entry")
    titles = [e.findtext(ATOM + "title") or "" for e in entries]
    assert len(entries) == 5
    assert any(t.startswith("停电改期") for t in titles) and any(t.startswith("停电取消") for t in titles)
    assert not any("SECRET" in t for t in titles)
    for entry in entries:
        assert entry.findtext(ATOM + "id", "").startswith("tag:")
        assert entry.find(ATOM + "updated") is not None and entry.find(ATOM + "link") is not None
    assert feed.findtext(ATOM + "id") and feed.findtext(ATOM + "updated")


async def test_cap_alerts_follow_cap_1_2_with_references(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    world = await _world(client, keys, clock, run_channels)
    planned = world["planned"]["id"]
    alert = check_cap((await client.get(f"/feeds/cap/{planned}/new.xml")).text)
    assert alert.findtext(NS + "msgType") == "Alert"
    assert alert.findtext(NS + "info/" + NS + "category") == "Infra"
    # The precision given is kept (121.598765, not 121.599: about 38 m).
    assert (
        alert.findtext(".//" + NS + "polygon") == "31.2,121.58 31.21,121.598765 31.1912345,121.61 31.2,121.58"
    )
    assert "请提前做好准备" in (alert.findtext(NS + "info/" + NS + "instruction") or "")
    update = check_cap((await client.get(f"/feeds/cap/{planned}/c1.xml")).text)
    assert update.findtext(NS + "msgType") == "Update"
    _, identifier, sent = (update.findtext(NS + "references") or "").split(",")
    assert (identifier, sent) == (alert.findtext(NS + "identifier"), alert.findtext(NS + "sent"))
    cancel = check_cap((await client.get(f"/feeds/cap/{world['cancelled']['id']}/c1.xml")).text)
    assert cancel.findtext(NS + "msgType") == "Cancel"
    instructions = [i.text or "" for i in cancel.iter(NS + "instruction")]
    assert instructions and not any("准备" in i or i.startswith("Prepare") for i in instructions), (
        instructions
    )
    assert "取消" in instructions[0]
    fault = check_cap((await client.get(f"/feeds/cap/{world['fault']['id']}/new.xml")).text)
    assert fault.findtext(f"{NS}info/{NS}urgency") == "Immediate"
    assert fault.findtext(f"{NS}info/{NS}certainty") == "Observed"
    assert (await client.get(f"/feeds/cap/{world['arrears']['id']}/new.xml")).status_code == 404

    index = ET.fromstring((await client.get("/feeds/310115/cap.atom")).content)
    links = [str(e.find(ATOM + "link").get("href")) for e in index.findall(ATOM + "entry")]  # type: ignore[union-attr]
    assert len(links) == 3
    assert any(link.endswith(f"/feeds/cap/{planned}/c1.xml") for link in links)
    for link in links:
        path = link.split("://", 1)[1].split("/", 1)[1]
        check_cap((await client.get("/" + path)).text)


async def test_icalendar_feed_has_planned_and_temporary_only(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    world = await _world(client, keys, clock, run_channels)
    response = await client.get("/feeds/310115/outages.ics")
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert sorted(events) == ["停电 Power outage: Dropped work", "停电 Power outage: Keyuan line maintenance"]
    planned = events["停电 Power outage: Keyuan line maintenance"]
    assert planned.decoded("dtstart") == clock() + timedelta(days=10)
    assert int(str(planned["sequence"])) == 1
    assert str(planned["uid"]).startswith(world["planned"]["id"])
    assert str(events["停电 Power outage: Dropped work"]["status"]) == "CANCELLED"


async def test_bad_polygon_is_refused(client: Client, keys: Keys, clock: FakeClock) -> None:
    open_ring = await client.post(
        "/api/v1/outages", json=outage_body(clock(), polygon=POLYGON[:3]), headers=keys.headers("submitter")
    )
    assert open_ring.status_code == 422
    assert open_ring.json()["extra"]["field"] == "polygon"


async def test_searches_are_rate_limited_per_client_but_cached_pages_never_are(
    settings: Any, redis: ArqRedis, clock: FakeClock, keys: Keys
) -> None:
    import msgspec

    strict = msgspec.structs.replace(settings, public_rate_limit=3)
    async with app_client(strict, redis, clock) as client:
        # A carrier NAT: 300 page views from one address within the second, none refused.
        for path in ("/", "/api/v1/public/outages", "/feeds/310115/atom.xml"):
            statuses = {(await client.get(path)).status_code for _ in range(100)}
            assert statuses == {200}, path
        searches = [await client.get("/lookup?q=F1") for _ in range(5)]
        assert [r.status_code for r in searches[:3]] == [200, 200, 200]
        refused = searches[-1]
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        # The search is a page: a customer's browser gets a page saying to try again.
        assert refused.headers["content-type"].startswith("text/html") and "请稍后再试" in refused.text
        # The dispatch API is not throttled by this.
        dispatch = [
            (await client.get("/api/v1/outages", headers=keys.headers("reviewer"))).status_code
            for _ in range(5)
        ]
        assert dispatch == [200] * 5


async def test_pages_name_districts_and_the_time_zone_and_link_the_feeds(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    await _world(client, keys, clock, run_channels)
    page = (await client.get("/")).text
    assert "上海市浦东新区" in page and ">310115<" not in page
    assert "北京时间" in page and "Asia/Shanghai" not in page
    for feed in ("/feeds/310115/atom.xml", "/feeds/310115/cap.atom", "/feeds/310115/outages.ics"):
        assert f'href="{feed}"' in page
        assert (await client.get(feed)).status_code == 200
    assert "上海市浦东新区" in (await client.get("/feeds/310115/atom.xml")).text
    assert "China Standard Time" in (await client.get("/?lang=en")).text


async def test_feeds_and_json_carry_validators_and_answer_304(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    world = await _world(client, keys, clock, run_channels)
    cap_doc = f"/feeds/cap/{world['planned']['id']}/new.xml"
    paths = ["/feeds/310115/atom.xml", "/feeds/310115/cap.atom", "/feeds/310115/outages.ics", cap_doc,
             "/api/v1/public/outages"]  # fmt: skip
    tags = {}
    for path in paths:
        first = await client.get(path)
        assert first.status_code == 200, path
        tag = tags[path] = first.headers["etag"]
        for sent in (tag, f'"other", {tag}', "*", f"W/{tag}"):
            again = await client.get(path, headers={"If-None-Match": sent})
            assert (again.status_code, again.content) == (304, b""), (path, sent)
            assert again.headers["etag"] == tag
        assert (await client.get(path, headers={"If-None-Match": '"other"'})).status_code == 200
    assert (await client.get(paths[2])).headers["content-type"] == "text/calendar; charset=utf-8"
    atom = await client.get(paths[0])
    since = await client.get(paths[0], headers={"If-Modified-Since": atom.headers["last-modified"]})
    assert since.status_code == 304
    # A publication changes what the feeds say, and their tags.
    await submit_and_approve(client, keys, outage_body(clock(), external_id="LATER", title="Later work"))
    await run_channels()
    for path in paths[:3] + paths[4:]:
        assert (await client.get(path, headers={"If-None-Match": tags[path]})).status_code == 200, path


async def test_the_list_puts_what_is_on_now_first_then_what_comes_then_what_ended(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    await _world(client, keys, clock, run_channels)
    soon = outage_body(clock(), external_id="SOON", title="Sooner work", days=7.5)
    await submit_and_approve(client, keys, soon)
    await run_channels()
    listed = (await client.get("/api/v1/public/outages")).json()["items"]
    assert [o["phase"] for o in listed] == ["in_progress", "upcoming", "upcoming", "cancelled"]
    upcoming = [o["title"] for o in listed if o["phase"] == "upcoming"]
    assert upcoming[0] == "Sooner work", upcoming
    page = (await client.get("/")).text
    positions = [page.index(title) for title in ("Huamu cable fault", "Sooner work", "Dropped work")]
    assert positions == sorted(positions)


async def test_a_dead_outage_link_is_a_page_not_json(client: Client) -> None:
    for path in ("/outages/OUT-NOPE", "/outages/OUT-NOPE?lang=en"):
        answer = await client.get(path)
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert "没有这条停电信息" in answer.text and 'href="/"' in answer.text
    # The JSON API keeps answering JSON.
    assert (
        (await client.get("/api/v1/public/outages?status=bogus"))
        .headers["content-type"]
        .startswith("application/json")
    )


async def test_lookup_by_street_address_as_customers_write_it(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    text = (
        HEADER.rstrip("\n")
        + ",address\n"
        + row("ZJ292", phone(7), feeder="F7").rstrip("\n")
        + ",张江路292号\n"
    )
    await client.post("/api/v1/customers/import", content=text, headers=keys.headers("submitter"))
    await _world(client, keys, clock, run_channels)
    described = outage_body(clock(), external_id="AD", title="Kejiao works", area_description="科苑路88号、90号",
                            scope={"feeders": ["F-OTHER"]})  # fmt: skip
    await submit_and_approve(client, keys, described)
    await run_channels()
    for query in ("张江路292号", "张江路２９２号", "张江路 292", "张江路292號"):
        page = (await client.get("/lookup", params={"q": query})).text
        assert "Huamu cable fault" in page, query  # the fault on that address's feeder
        assert "ZJ292" not in page and phone(7) not in page and "Name ZJ292" not in page
    assert "Kejiao works" in (await client.get("/lookup", params={"q": "科苑路８８号"})).text
    assert "没有查到" in (await client.get("/lookup", params={"q": "张江路999号"})).text


async def test_a_cancelled_card_shows_its_times_as_called_off(
    client: Client, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    world = await _world(client, keys, clock, run_channels)
    page = (await client.get("/")).text
    start = page.index(f'id="outage-{world["cancelled"]["id"]}"')
    card = page[start : page.index("</article>", start)]
    assert "原定时间（已取消）" in card and "<s>" in card and "预计恢复" not in card
