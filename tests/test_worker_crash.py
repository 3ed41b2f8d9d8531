"""SIGKILL a real worker process twice in the middle of a 10,000-recipient fan-out, then restart it.

Every recipient ends with exactly one message at the (fake) Twilio, except sends that were in
flight when the worker died: those are `unconfirmed`, never sent twice, at most one each, and
no more of them than the sends one worker has in flight at once.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from arq.connections import ArqRedis

from api.service import OutageService
from schemas.settings import Settings
from store.sms import SmsLedger
from tests.bodies import fault_body
from tests.conftest import FakeClock, Keys
from tests.customers import load, phone, row
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio

RECIPIENTS = 10_000
CONCURRENCY = 20
MAX_JOBS = 10  # arq's default jobs at once per worker


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
        "JOB_TIMEOUT": "5s",
    }
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "workers"], env=env, stdout=out, stderr=out)


def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.05)


async def test_sigkill_during_fan_out_loses_nothing_and_sends_nothing_twice(
    settings: Settings, redis: ArqRedis, clock: FakeClock, keys: Keys, fake_twilio: FakeTwilio, tmp_path: Path
) -> None:
    await load(redis, *(row(f"K{n:05d}", phone(n)) for n in range(RECIPIENTS)))
    service = OutageService(settings, redis, clock)
    outage, _ = await service.submit(fault_body_struct(clock, feeders=["F1"]), keys.keys["submitter"])
    await service.approve_current(outage.id, keys.keys["reviewer"])
    fake_twilio.delay = 0.002

    log = tmp_path / "worker.log"
    kills = []
    for kill_after in (2_000, 5_000):
        worker = _worker(settings, fake_twilio, log)
        try:
            _until(
                lambda n=kill_after: len(fake_twilio.created) >= n,
                90,
                f"{kill_after:,} messages before a kill",
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills.append(len(fake_twilio.created))
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    at_kill = kills[-1]
    assert at_kill < RECIPIENTS, "the fan-out finished before the last kill: nothing was tested"

    ledger = SmsLedger(redis)
    second = _worker(settings, fake_twilio, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            counts = await ledger.counts(outage.id, "new")
            if counts.get("accepted", 0) + counts.get("unconfirmed", 0) == RECIPIENTS:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"fan-out did not finish after restart: {counts}\n{log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)

    per_number = Counter(m["To"] for m in fake_twilio.created)
    assert max(per_number.values()) == 1, "someone got two messages"
    unconfirmed = counts.get("unconfirmed", 0)
    assert unconfirmed <= CONCURRENCY * MAX_JOBS * len(kills)
    assert counts.get("sending", 0) == 0
    missing = [n for n in range(RECIPIENTS) if per_number[phone(n)] == 0]
    assert len(missing) <= unconfirmed
    for n in missing:
        assert await ledger.status_of(outage.id, "new", f"K{n:05d}") == "unconfirmed"
    print(
        f"\nkilled at {kills} sent; unconfirmed {unconfirmed}, of which never reached Twilio {len(missing)}"
    )


def fault_body_struct(clock: FakeClock, feeders: list[str]):  # type: ignore[no-untyped-def]
    import msgspec

    from schemas.outage import OutageSubmission

    body = fault_body(clock(), scope={"feeders": feeders})
    return msgspec.convert(body, OutageSubmission)
