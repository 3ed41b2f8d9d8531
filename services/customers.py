"""The customer registry as the service uses it: the file import (API and CLI share it), one
customer read or removed within a key's region, and where an address is supplied from."""

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from itertools import islice

from redis.asyncio import Redis

from schemas.customers import Customer, ImportReport, RowProblem, customer_rows, validate_rows
from schemas.settings import Settings
from services.acknowledged import acknowledged
from store.customers import CustomerStore

# A report lists this many rejected rows; `rejected` still counts them all.
MAX_LISTED_PROBLEMS = 1000


# Rows validated per step off the event loop: phone parsing is CPU-bound.
CHUNK = 5000


async def import_customers(
    redis: Redis,
    lines: Iterable[str],
    region: str | None = None,
    executor: Executor | None = None,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Upserts the good rows of a customer file; rows of another region than `region` are rejected.

    Rows are validated in `executor` (the CLI passes a process pool), else in a thread, so an
    upload never stalls the event loop that answers everything else.
    """
    store = CustomerStore(redis)
    report = ImportReport()
    loop = asyncio.get_running_loop()

    def reject(problem: RowProblem) -> None:
        report.rejected += 1
        if len(report.problems) < MAX_LISTED_PROBLEMS:
            report.problems.append(problem)

    async def store_chunk(validated: list[tuple[int, Customer | RowProblem]]) -> None:
        good: list[Customer] = []
        lines: dict[str, int] = {}
        for line, item in validated:
            if isinstance(item, RowProblem):
                reject(item)
            elif region is not None and item.region != region:
                reject(
                    RowProblem(
                        line,
                        f"account {item.account}: region {item.region} is not this key's region {region}",
                    )
                )
            else:
                good.append(item)
                lines[item.account] = line
        counts = await store.upsert(good, region)
        for account in counts.foreign:
            reject(
                RowProblem(
                    lines[account],
                    f"account {account} belongs to another region's registry; this key may not change it",
                )
            )
        report.inserted += counts.inserted
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        if progress is not None:
            progress(report)

    # Up to two chunks in validation while the previous one is written.
    pending: deque[asyncio.Future[list[tuple[int, Customer | RowProblem]]]] = deque()
    rows = customer_rows(lines)
    while True:
        chunk = list(islice(rows, CHUNK))
        if chunk:
            pending.append(loop.run_in_executor(executor, validate_rows, chunk))
        if pending and (len(pending) > 2 or not chunk):
            await store_chunk(await pending.popleft())
        if not chunk and not pending:
            return report


class CustomerService:
    def __init__(self, redis: Redis, settings: Settings | None = None) -> None:
        self.redis = redis
        self.settings = settings or Settings()
        self.store = CustomerStore(redis)

    async def import_lines(self, lines: Iterable[str], region: str | None) -> ImportReport:
        report = await import_customers(self.redis, lines, region)
        # The report is the import's acknowledgement: on the replicas too (REDIS_MIN_REPLICAS).
        await acknowledged(self.redis, self.settings)
        return report

    async def in_region(self, account: str, region: str) -> Customer | None:
        """The customer, if the registry holds the account in `region` (else None: not this key's)."""
        customer = await self.store.get(account)
        return customer if customer is not None and customer.region == region else None

    async def remove(self, account: str, region: str) -> bool:
        return bool(await self.store.remove([account], region))

    async def get(self, account: str) -> Customer | None:
        return await self.store.get(account)

    async def supply_at_address(self, address: str) -> tuple[set[str], set[str]]:
        return await self.store.supply_at_address(address)
