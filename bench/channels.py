"""Several channels and contacts: the same 100,000-recipient fault notice, first with no contacts
(SMS only, the baseline of this run), then with 20 % of accounts having 2 or 3 extra phones and
10 % an email address, handed over by one in-process worker to the local outboxes (SMS and email):
messages per second per channel next to the SMS-only figure.

    .venv/bin/python -m bench.channels [--recipients 100000]
"""

import argparse
import asyncio
import os
import platform
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from arq.connections import ArqRedis, RedisSettings, create_pool

from schemas.clock import Clock, clock_in
from schemas.contacts import Contact, ContactChannel
from schemas.kinds import OutageKind, Role
from schemas.outage import OutageSubmission, Scope
from schemas.settings import Settings
from services.customers import import_customers
from services.demo_customers import NETWORK, demo_account, synthetic_customers
from services.jobs import enqueue_publish
from services.outages import OutageService
from store.api_keys import ApiKeyStore
from store.contacts import ContactStore
from store.embedded import EmbeddedRedis
from store.ledger import DeliveryLedger
from workers.worker import build_worker


async def add_contacts(redis: ArqRedis, count: int) -> tuple[int, int]:
    """20 % of accounts get 2 or 3 extra phones, 10 % an email (fixed seed: the same every run)."""
    store = ContactStore(redis)
    rng = random.Random(7)
    phones = emails = 0
    now = datetime.now(UTC)
    for n in range(count):
        account = demo_account("310115", n)
        extra: list[tuple[ContactChannel, str]] = []
        if rng.random() < 0.2:
            extra += [(ContactChannel.SMS, f"+86137{n:06d}{k:02d}") for k in range(rng.choice((2, 3)))]
        if rng.random() < 0.1:
            extra.append((ContactChannel.EMAIL, f"customer{n}@example.com"))
        for index, (channel, address) in enumerate(extra):
            contact = Contact(id=f"c{index}", account=account, channel=channel, address=address,
                              language="zh-CN", verified_at=now)  # fmt: skip
            await store.add(contact, 5)
            phones += channel is ContactChannel.SMS
            emails += channel is ContactChannel.EMAIL
    return phones, emails


async def publish_and_drain(
    service: OutageService, redis: ArqRedis, settings: Settings, name: str
) -> tuple[str, float]:
    clock = service.clock
    keys = ApiKeyStore(redis)
    submitter, _ = await keys.create(
        name="s", centre="c", region="310115", roles=frozenset({Role.SUBMITTER}), now=clock()
    )
    reviewer, _ = await keys.create(
        name="r", centre="c", region="310115", roles=frozenset({Role.REVIEWER}), now=clock()
    )
    now = clock()
    outage, _ = await service.submit(
        OutageSubmission(
            external_id=name, kind=OutageKind.FAULT, title="Substation trip", reason="Typhoon", region="310115",
            area_description="Everything", scope=Scope(feeders=[f for f, _ in NETWORK]),
            starts_at=now - timedelta(minutes=30), fault_located_at=now - timedelta(minutes=5),
        ),
        submitter,
    )  # fmt: skip
    await service.approve_current(outage.id, reviewer)
    await enqueue_publish(redis, settings.queue_name, outage.id, "new")
    return outage.id, await drain(settings, clock, redis)


async def drain(settings: Settings, clock: Clock, redis: ArqRedis) -> float:
    """Seconds one in-process burst worker (50 sends at a time, 20 jobs) takes to empty the queue."""
    worker = build_worker(
        msgspec.structs.replace(settings, sms_concurrency=50), clock, redis=redis, burst=True
    )
    worker.max_jobs = 20
    started = time.perf_counter()
    await worker.main()
    drained = time.perf_counter() - started
    assert worker.on_shutdown is not None
    await worker.on_shutdown(worker.ctx)
    return drained


async def run(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis(Path(folder) / "redis") as server:
        settings = Settings(
            redis_url=server.url, data_dir=Path(folder), outbox_max=1_000_000, queue_name="bench"
        )
        redis = await create_pool(RedisSettings.from_dsn(server.url))
        service = OutageService(settings, redis, clock_in(settings.zone))
        await import_customers(redis, synthetic_customers(count))
        alone, alone_time = await publish_and_drain(service, redis, settings, "ALONE")
        sms_alone = (await DeliveryLedger(redis, "sms").counts(alone, "new")).get("accepted", 0)
        phones, emails = await add_contacts(redis, count)
        both, both_time = await publish_and_drain(service, redis, settings, "CONTACTS")
        sms = await DeliveryLedger(redis, "sms").counts(both, "new")
        email = await DeliveryLedger(redis, "email").counts(both, "new")
        await redis.aclose()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{count:,} accounts on the notice; then {phones:,} extra phones and {emails:,} emails")
    base = sms_alone / alone_time
    print(f"SMS only (baseline)       {alone_time:7.2f} s  {sms_alone:9,} SMS     {base:9,.0f} msg/s")
    total = sms.get("accepted", 0) + email.get("accepted", 0)
    print(f"with contacts, all        {both_time:7.2f} s  {total:9,} messages {total / both_time:9,.0f} msg/s  "
          f"{total / both_time / base:.2f}x the baseline")  # fmt: skip
    print(f"  of which SMS            {sms.get('accepted', 0):9,} (recipients {sms.get('recipients', 0):,}), "
          f"email {email.get('accepted', 0):,} (recipients {email.get('recipients', 0):,})")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(run(args.recipients))
