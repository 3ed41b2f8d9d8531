"""A stop request is not lost. On Python 3.11, asyncio.wait_for returns its inner result when the
inner future finishes in the same turn as the waiting task's cancellation, and drops that
cancellation (fixed in 3.12); redis-py writes every command through wait_for when a socket
timeout is set, so any Redis command can eat a cancel. A worker whose main task ate SIGTERM's
cancel kept polling and starting jobs (tests/test_worker_crash.py saw it once in eight runs
under load), and a job lease whose renewal ate its cancel would hold its job forever."""

import asyncio
import signal
from typing import Any

from arq.connections import ArqRedis

from schemas.settings import Settings
from store.jobs import job_lease
from tests.conftest import FakeClock
from workers.worker import build_worker


async def test_sigterm_stops_a_worker_whose_main_task_ate_the_first_cancel(
    settings: Settings, redis: ArqRedis, clock: FakeClock
) -> None:
    worker = build_worker(settings, clock, redis=redis)
    polled = asyncio.Event()
    eaten = 0
    poll = worker._poll_iteration

    async def eating_one_cancel() -> None:
        nonlocal eaten
        polled.set()
        try:
            await poll()
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            if eaten:
                raise
            eaten += 1

    worker._poll_iteration = eating_one_cancel  # type: ignore[method-assign]
    running = asyncio.create_task(worker.async_run())
    await polled.wait()
    worker.handle_sig(signal.SIGTERM)
    async with asyncio.timeout(5):
        await asyncio.wait({running})
    assert eaten == 1 and running.done()


class EatsOneCancel:
    """A store whose PEXPIRE ignores the first cancel that reaches it, as wait_for does."""

    def __init__(self) -> None:
        self.eaten = 0
        self.renewals = 0

    async def pexpire(self, key: str, milliseconds: int) -> bool:
        self.renewals += 1
        try:
            await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            if self.eaten:
                raise
            self.eaten += 1
        return True


async def test_a_job_lease_ends_with_its_job_even_when_a_renewal_eats_the_cancel() -> None:
    store = EatsOneCancel()
    store_any: Any = store
    seconds = 0.03  # renewed every 10 ms, so the job's end finds a renewal under way

    async def jobs() -> None:
        for _ in range(20):
            async with job_lease(store_any, "job", seconds):
                await asyncio.sleep(0.025)
            if store.eaten:
                return

    running = asyncio.create_task(jobs())
    # Waited for from outside: a timeout around the lease would send a cancel of its own.
    await asyncio.wait({running}, timeout=5)
    assert running.done(), "the lease's renewal outlived its job"
    assert store.eaten == 1, "the lease's end never met a renewal under way: nothing was tested"


def test_no_code_of_the_service_waits_with_asyncio_wait_for() -> None:
    """The same loss anywhere: every bounded wait of the service uses asyncio.timeout, which keeps
    a cancel that arrives as the wait ends (the SSE streams' keep-alive wait and the live
    subscription's start used wait_for until this test)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for package in ("api", "services", "store", "workers", "publishers", "schemas", "cli")
        for path in sorted((root / package).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bwait_for\(", line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []
