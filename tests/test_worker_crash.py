"""SIGKILL a real worker process twice in the middle of a 10,000-recipient fan-out, starting a new
one each time as `serve` does.

Every recipient ends with exactly one message at the (fake) Twilio: the sends that were in flight
when a worker died are looked up at Twilio and recorded if they got there, sent if they did not.
The dead worker's batches are taken up within 15 s (its job leases lapse after JOB_LEASE, 10 s),
not after JOB_TIMEOUT (120 s) as arq alone would.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from arq.connections import ArqRedis

from schemas.settings import Settings
from services.outages import OutageService
from store import keys as store_keys
from store.ledger import DeliveryLedger
from tests.bodies import fault_body
from tests.conftest import SHANGHAI, FakeClock, Keys
from tests.customers import load, phone, row
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio

RECIPIENTS = 10_000
CONCURRENCY = 20
TAKEN_UP_WITHIN = 15.0


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


def _worker(settings: Settings, fake: FakeTwilio, log: Path) -> subprocess.Popen[bytes]:
    assert settings.redis_url is not None
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url,
        "QUEUE_NAME": settings.queue_name,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": FROM,
        "TWILIO_API_BASE": fake.url,
        "SMS_CONCURRENCY": str(CONCURRENCY),
        "SMS_RETRY_BASE": "0",
    }
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "workers"], env=env, stdout=out, stderr=out)


def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.05)


async def _in_flight(redis: ArqRedis, outage_id: str) -> list[str]:
    ledger = await redis.hgetall(store_keys.ledger("sms", outage_id, "new"))
    return [a.decode() for a, v in ledger.items() if v.startswith(b"sending|")]


async def _settled_after(
    ledger: DeliveryLedger, outage_id: str, accounts: list[str], killed_at: float
) -> float:
    """Seconds from the kill until none of `accounts` is still claimed by the dead worker."""
    while True:
        statuses = await ledger.statuses([(outage_id, "new", a) for a in accounts])
        if all(s not in (None, "sending") for s in statuses):
            return time.monotonic() - killed_at
        if time.monotonic() - killed_at > 120:
            return float("inf")
        await asyncio.sleep(0.1)


async def test_sigkill_during_fan_out_loses_nothing_sends_nothing_twice_and_resumes_quickly(
    settings: Settings, redis: ArqRedis, keys: Keys, fake_twilio: FakeTwilio, tmp_path: Path
) -> None:
    # The worker processes read the wall clock: an outage made at the fixtures' fixed date would be
    # two days old to them, its survey (回访, SURVEY_DELAY after the start) due at once and counted
    # here as a second message to whoever it samples.
    clock = FakeClock(datetime.now(SHANGHAI))
    await load(redis, *(row(f"K{n:05d}", phone(n)) for n in range(RECIPIENTS)))
    service = OutageService(settings, redis, clock)
    outage, _ = await service.submit(fault_body_struct(clock, feeders=["F1"]), keys.keys["submitter"])
    await service.approve_current(outage.id, keys.keys["reviewer"])
    fake_twilio.delay = 0.002
    ledger = DeliveryLedger(redis, "sms")

    log = tmp_path / "worker.log"
    started = time.monotonic()
    worker = _worker(settings, fake_twilio, log)
    kills: list[int] = []
    watches: list[asyncio.Task[float]] = []
    in_flight_at_kills: list[int] = []
    try:
        for kill_after in (2_000, 5_000):
            await asyncio.to_thread(
                _until, lambda n=kill_after: len(fake_twilio.created) >= n, 90, f"{kill_after:,} messages"
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            killed_at = time.monotonic()
            kills.append(len(fake_twilio.created))
            in_flight = await _in_flight(redis, outage.id)
            in_flight_at_kills.append(len(in_flight))
            watches.append(asyncio.create_task(_settled_after(ledger, outage.id, in_flight, killed_at)))
            worker = _worker(settings, fake_twilio, log)
        assert kills[-1] < RECIPIENTS, "the fan-out finished before the last kill: nothing was tested"
        deadline = time.monotonic() + 120
        while True:
            counts = await ledger.counts(outage.id, "new")
            if counts.get("accepted", 0) == RECIPIENTS:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"fan-out did not finish: {counts}\n{log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)
        finished = time.monotonic() - started
        taken_up = [await w for w in watches]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)

    bodies = Counter(m["Body"] for m in fake_twilio.created)
    assert len(bodies) == 1, f"messages other than the notice went out: {bodies.most_common()[1:4]}"
    per_number = Counter(m["To"] for m in fake_twilio.created)
    twice = [number for number, n in per_number.items() if n > 1]
    assert max(per_number.values()) == 1, await _duplicates_explained(
        redis, outage.id, twice, log.read_text()[-4000:]
    )
    assert len(per_number) == RECIPIENTS, f"{RECIPIENTS - len(per_number)} never got the message"
    assert counts.get("unconfirmed", 0) == 0 and counts.get("sending", 0) == 0
    assert sum(in_flight_at_kills) > 0, "no send was in flight at a kill: nothing was reconciled"
    assert all(t <= TAKEN_UP_WITHIN for t in taken_up), taken_up
    print(
        f"\nkilled at {kills} sent, {in_flight_at_kills} in flight; their sends settled "
        f"{[round(t, 1) for t in taken_up]} s after each kill; all {RECIPIENTS} in {finished:.1f} s, "
        f"{fake_twilio.lookups} lookups at Twilio"
    )


async def _duplicates_explained(redis: ArqRedis, outage_id: str, numbers: list[str], tail: str) -> str:
    """What the ledger says of the numbers that got two messages, and the workers' last lines."""
    accounts = [f"K{int(n[-5:]):05d}" for n in numbers[:10]]
    entries = await redis.hmget(store_keys.ledger("sms", outage_id, "new"), accounts) if accounts else []
    return (
        f"{len(numbers)} numbers got two messages; ledger: {dict(zip(accounts, entries, strict=True))}\n"
        f"{tail}"
    )


def fault_body_struct(clock: FakeClock, feeders: list[str]):  # type: ignore[no-untyped-def]
    import msgspec

    from schemas.outage import OutageSubmission

    body = fault_body(clock(), scope={"feeders": feeders})
    return msgspec.convert(body, OutageSubmission)
