"""/ready and /metrics: what an operator's monitoring reads."""

import time
from typing import Any

import httpx
from arq.connections import ArqRedis
from prometheus_client.parser import text_string_to_metric_families

from schemas.settings import Settings
from store.embedded import free_port
from tests.asgi import app_client
from tests.bodies import fault_body, outage_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.flows import approve

Client = httpx.AsyncClient


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_ready_needs_redis_and_a_worker(
    client: Client, run_channels: Any, settings: Settings, clock: FakeClock
) -> None:
    waiting = await client.get("/ready")
    assert (waiting.status_code, waiting.json()["worker"]) == (503, "no heartbeat")
    await run_channels()
    assert (await client.get("/ready")).status_code == 200
    assert (await client.get("/health")).json() == {"status": "ok"}
    from arq.connections import ArqRedis as Pool

    gone = Pool.from_url(f"redis://127.0.0.1:{free_port()}/0")
    async with app_client(settings, gone, clock) as unreachable:
        response = await unreachable.get("/ready")
    await gone.aclose()
    assert (response.status_code, response.json()["redis"]) == (503, "unreachable")


async def test_metrics_count_notices_delays_sms_and_queues(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis, run_channels: Any
) -> None:
    await load(redis, row("A1", phone(1)), row("A2", phone(2)))
    for body, review_after in (
        (outage_body(clock(), scope={"feeders": ["F1"]}), 0),
        (fault_body(clock(), located_minutes_ago=0), 25),
    ):
        created = (await client.post("/api/v1/outages", json=body, headers=keys.headers("submitter"))).json()
        clock.advance(minutes=review_after)
        await approve(client, keys, created["id"], "reviewer")
    await client.post(
        "/api/v1/outages", json=outage_body(clock(), external_id="WAIT"), headers=keys.headers("submitter")
    )
    clock.advance(minutes=10)
    await run_channels()
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert samples[("outage_notices_published_total", (("event", "new"), ("kind", "planned")))] == 1
    assert samples[("outage_notices_late_total", (("event", "new"), ("kind", "fault")))] == 1
    assert samples[("outage_fault_publication_delay_minutes_bucket", (("le", "20.0"),))] == 0
    assert samples[("outage_fault_publication_delay_minutes_bucket", (("le", "30.0"),))] == 1
    assert samples[("outage_sms_messages_total", (("status", "accepted"),))] == 2
    assert samples[("outage_review_queue_items", (("region", "310115"),))] == 1
    assert samples[("outage_review_queue_oldest_seconds", (("region", "310115"),))] == 600
    assert ("outage_queue_jobs", ()) in samples


async def test_a_scrape_reads_no_more_with_many_customers_and_never_scans(
    client: Client, keys: Keys, clock: FakeClock, redis: ArqRedis
) -> None:
    await client.post("/api/v1/outages", json=outage_body(clock()), headers=keys.headers("submitter"))

    async def commands_per_scrape() -> tuple[dict[str, int], float]:
        await redis.config_resetstat()
        started = time.perf_counter()
        scraped = await client.get("/metrics")
        elapsed = time.perf_counter() - started
        assert scraped.status_code == 200
        stats: dict[str, Any] = await redis.info("commandstats")
        return {name: int(v["calls"]) for name, v in stats.items()}, elapsed

    await commands_per_scrape()  # the first scrape may index data stored before the region set
    few, _ = await commands_per_scrape()
    await load(redis, *(row(f"M{n}", phone(n)) for n in range(20_000)))
    many, elapsed = await commands_per_scrape()
    assert "cmdstat_scan" not in many, many
    assert sum(many.values()) == sum(few.values()), (few, many)
    print(f"\nscrape with 20,000 customers: {elapsed * 1000:.1f} ms, {sum(many.values())} Redis commands")
    assert elapsed < 0.5, elapsed
