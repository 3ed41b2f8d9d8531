"""Real Chromium (Debian's, driven by playwright) on the list page: live updates, lookup, language."""

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from arq.connections import ArqRedis
from playwright.async_api import Browser, async_playwright

from api.app import create_app
from schemas.settings import Settings
from store.embedded import free_port
from tests.bodies import outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.flows import approve, submit_and_approve

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As the probe runs it: headless, and nothing that phones home on a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
TIMEOUT_MS = 10_000

if shutil.which(CHROMIUM) is None and os.environ.get("REQUIRE_BROWSER"):
    raise RuntimeError(f"REQUIRE_BROWSER is set but there is no Chromium at {CHROMIUM}")
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM} (make test installs Debian's chromium)"
)


@pytest.fixture
async def server(settings: Settings, redis: ArqRedis, clock: FakeClock) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, redis, clock), host="127.0.0.1", port=port, log_level="warning",
        timeout_graceful_shutdown=1,
    )  # fmt: skip
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    for _ in range(1000):
        if running.started:
            break
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    await task


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def test_outage_appears_live_then_lookup_and_language(
    server: str, browser: Browser, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1), feeder="F1"))
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    await page.goto(server + "/")
    assert "目前没有停电信息" in await page.inner_text("#outages")
    await page.wait_for_selector("body[data-live='1']", timeout=TIMEOUT_MS)

    async with httpx.AsyncClient(base_url=server) as api:
        body = outage_body(clock(), title="Keyuan line maintenance", scope={"feeders": ["F1"]})
        created = await submit_and_approve(api, keys, body)
    await run_channels()
    card = page.locator(f"#outage-{created['id']}")
    await card.wait_for(timeout=TIMEOUT_MS)
    assert "即将停电" in await card.inner_text()
    assert page.url == server + "/", "the page changed without a reload"

    await page.click("#lookup-link")
    await page.fill("#lookup-q", "A1")
    await page.press("#lookup-q", "Enter")
    await page.wait_for_selector("#lookup-result", timeout=TIMEOUT_MS)
    assert "Keyuan line maintenance" in await page.inner_text("#lookup-result")

    await page.click("#switch-language")
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "en"
    assert "Is my supply affected?" in await page.inner_text("main")
    assert "Keyuan line maintenance" in await page.inner_text("#lookup-result")
    # Readable on a phone: nothing wider than the screen.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


async def test_a_refused_live_refresh_is_retried_until_the_list_is_current(
    server: str, browser: Browser, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    page = await browser.new_page()
    refused: list[str] = []

    async def busy_twice(route: Any) -> None:
        if len(refused) < 2:
            refused.append(route.request.url)
            await route.fulfill(status=429, headers={"Retry-After": "1"}, body="busy")
        else:
            await route.continue_()

    await page.route("**/*partial=1*", busy_twice)
    await page.goto(server + "/")
    await page.wait_for_selector("body[data-live='1']", timeout=TIMEOUT_MS)
    async with httpx.AsyncClient(base_url=server) as api:
        created = await submit_and_approve(
            api, keys, outage_body(clock(), title="Retried", scope={"feeders": ["F1"]})
        )
    await run_channels()
    await page.locator(f"#outage-{created['id']}").wait_for(timeout=3 * TIMEOUT_MS)
    assert len(refused) == 2
    assert await page.get_attribute("body", "data-stale") is None


async def test_the_api_docs_work_without_internet(server: str, browser: Browser) -> None:
    page = await browser.new_page()
    outside: list[str] = []

    async def offline(route: Any) -> None:
        if route.request.url.startswith(server):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", offline)
    await page.goto(server + "/schema/swagger")
    await page.locator(".opblock").first.wait_for(timeout=TIMEOUT_MS)
    assert await page.locator(".opblock").count() > 10
    assert outside == [], outside


def _contrast(foreground: list[float], background: list[float]) -> float:
    def luminance(rgb: list[float]) -> float:
        channels = [c / 255 for c in rgb[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def test_cards_read_well_headings_nest_and_the_live_region_stays(
    server: str, browser: Browser, keys: Keys, clock: FakeClock, run_channels: Any
) -> None:
    async with httpx.AsyncClient(base_url=server) as api:
        dropped = await submit_and_approve(api, keys, outage_body(clock(), external_id="C", title="Dropped"))
        await api.post(f"/api/v1/outages/{dropped['id']}/changes", json={"type": "cancel", "reason": "Merged"},
                       headers=keys.headers("submitter"))  # fmt: skip
        await approve(api, keys, dropped["id"])
    await run_channels()
    page = await browser.new_page()
    await page.goto(server + "/")
    card = page.locator(f"#outage-{dropped['id']}")
    colours = await card.evaluate(
        """card => [...card.querySelectorAll('dt, dd, .status, a')].map(e => {
             const parse = s => s.match(/[\\d.]+/g).map(Number);
             let node = e, bg = 'rgba(0, 0, 0, 0)';
             while (node && parse(bg).length === 4 && parse(bg)[3] === 0) { bg = getComputedStyle(node).backgroundColor; node = node.parentElement; }
             return [parse(getComputedStyle(e).color), parse(bg), getComputedStyle(card).opacity];
           })"""
    )
    for foreground, background, opacity in colours:
        assert opacity == "1"
        assert (
            _contrast(foreground, background if len(background) == 3 or background[3] else [255, 255, 255])
            >= 4.5
        )
    await page.goto(f"{server}/outages/{dropped['id']}")
    levels = await page.evaluate(
        "[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])"
    )
    assert levels[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    # The live region is updated in place, so a screen reader announces the news.
    await page.goto(server + "/")
    await page.wait_for_selector("body[data-live='1']", timeout=TIMEOUT_MS)
    await page.evaluate("document.getElementById('outages').dataset.marker = 'same'")
    async with httpx.AsyncClient(base_url=server) as api:
        fresh = await submit_and_approve(api, keys, outage_body(clock(), external_id="N", title="Fresh"))
    await run_channels()
    await page.locator(f"#outage-{fresh['id']}").wait_for(timeout=TIMEOUT_MS)
    assert await page.evaluate("document.getElementById('outages').dataset.marker") == "same"
    assert await page.get_attribute("#outages", "aria-live") == "polite"


async def test_dispatcher_works_reports_live_confirms_a_suspect_and_accepts_an_order(
    server: str, browser: Browser, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    await load(redis, *(row(f"A{n}", phone(n), feeder="F1", area="TA-1") for n in range(1, 4)))
    context = await browser.new_context(
        http_credentials={"username": "dispatch", "password": keys.secrets["allroles"]},
        viewport={"width": 1280, "height": 900},
    )
    page = await context.new_page()
    await page.goto(server + "/dispatch/reports")
    assert "无 None" in await page.inner_text("#suspects")
    await page.wait_for_selector("body[data-live='1']", timeout=TIMEOUT_MS)
    async with httpx.AsyncClient(base_url=server, headers=keys.headers("agent")) as agent:
        for account in ("A1", "A2", "A3"):
            assert (await agent.post("/api/v1/reports", json={"account": account})).status_code == 201
    # The third report tips the area into a suspected outage: it appears without a reload.
    suspect = page.locator("article.suspect")
    await suspect.wait_for(timeout=TIMEOUT_MS)
    assert "3 户报修" in await suspect.inner_text()
    assert await page.locator("#repairs tbody tr").count() == 3
    first = page.locator("#repairs tbody tr").first
    await first.locator("button.accept").click()
    await page.wait_for_selector("#repairs tbody tr >> text=accepted", timeout=TIMEOUT_MS)
    await suspect.locator("form.confirm button").click()
    await page.wait_for_selector("article.suspect", state="detached", timeout=TIMEOUT_MS)
    async with httpx.AsyncClient(base_url=server, headers=keys.headers("reviewer")) as reviewer:
        pending = (await reviewer.get("/api/v1/outages", params={"status": "pending_review"})).json()["items"]
    assert [o["kind"] for o in pending] == ["fault"] and pending[0]["scope"]["transformer_areas"] == ["TA-1"]
    await context.close()


async def test_the_storm_page_on_a_phone_and_a_desktop_links_its_map_and_refreshes_live(
    server: str, browser: Browser, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    from tests.bodies import fault_body
    from tests.test_storm import SQUARE

    await load(
        redis,
        *(row(f"S{n:02d}", phone(n), feeder="F1") for n in range(12)),
        row("T1", phone(50), feeder="F2"),
    )
    async with httpx.AsyncClient(base_url=server) as api:
        first = await submit_and_approve(
            api, keys, fault_body(clock(), title="Zhangjiang trip", scope={"feeders": ["F1"]}, polygon=SQUARE)
        )
    await run_channels()
    for width, height in ((390, 844), (1280, 800)):
        page = await browser.new_page(viewport={"width": width, "height": height})
        await page.goto(server + "/storm")
        assert await page.inner_text("#customers-out") == "12"
        assert await page.evaluate("document.documentElement.scrollWidth") <= width, (
            "nothing wider than the screen"
        )
        box = await page.locator("#map").bounding_box()
        assert box is not None and 0 < box["width"] <= width
        assert await page.locator("#districts tbody tr").count() == 1
        await page.close()
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    await page.goto(server + "/storm")
    await page.wait_for_selector("body[data-live='1']", timeout=TIMEOUT_MS)
    async with httpx.AsyncClient(base_url=server) as api:
        await submit_and_approve(api, keys, fault_body(clock(), external_id="F-2", scope={"feeders": ["F2"]}))
    await run_channels()
    # The second outage's customer joins the count without a reload ("< 10" would hide one alone).
    await page.wait_for_function(
        "document.getElementById('customers-out').textContent === '13'", timeout=TIMEOUT_MS
    )
    assert page.url == server + "/storm"
    await page.click("#map a")
    await page.wait_for_load_state()
    assert page.url.endswith(f"/outages/{first['id']}")
