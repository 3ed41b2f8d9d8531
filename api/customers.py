"""Customer registry: CSV import (API and CLI share it), lookup and removal."""

import asyncio
import io
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from itertools import islice
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from redis.asyncio import Redis

from schemas.customers import (
    CONVERT_HINT,
    ENCODING_SAMPLE,
    Customer,
    FileProblem,
    ImportReport,
    RowProblem,
    customer_rows,
    file_encoding,
    validate_rows,
)
from schemas.errors import Forbidden, NotFound, Unprocessable
from schemas.keys import ApiKey
from schemas.kinds import Role
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


def _require_submitter(caller: ApiKey) -> None:
    if Role.SUBMITTER not in caller.roles:
        raise Forbidden("managing customers needs the submitter role", rule="role")


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]
    security = [{"bearer": []}]

    @post(
        "/import",
        summary="Import the customer file (CSV, UTF-8, header row)",
        description=(
            "Columns: account, name, phone, region, feeder, transformer_area, important, language "
            "(zh-CN or en), optional address. UTF-8 (with or without BOM) or GBK/GB18030 as Excel saves it. Upserts by account; rows of other regions, bad phone "
            "numbers and other bad rows are reported by line and skipped, good rows go in."
        ),
        status_code=200,
        request_max_body_size=200 * 1_048_576,
    )
    async def upload(
        self,
        caller: NamedDependency[ApiKey],
        redis: NamedDependency[Redis],
        request: Request[Any, Any, Any],
    ) -> ImportReport:
        _require_submitter(caller)
        # Read raw: Litestar would decode a body it has no codec for as JSON.
        body = await request.body()
        refusal = Unprocessable(
            f"body: the file is neither UTF-8 nor GBK/GB18030: {CONVERT_HINT}", field="body", rule="encoding"
        )
        try:
            encoding = file_encoding(body[:ENCODING_SAMPLE])
        except FileProblem:
            raise refusal from None
        # Lines are decoded as the import reads them (BytesIO shares the body's bytes): the file is
        # in memory once, not again as one string and again as a list of lines.
        lines = io.TextIOWrapper(io.BytesIO(body), encoding=encoding, newline="")
        try:
            return await import_customers(redis, lines, caller.region)
        except FileProblem as exc:
            raise Unprocessable(str(exc), field="body", rule="csv_header") from None
        except UnicodeDecodeError:
            raise refusal from None

    @get("/{account:str}", summary="One customer")
    async def read(
        self, account: FromPath[str], caller: NamedDependency[ApiKey], redis: NamedDependency[Redis]
    ) -> Customer:
        customer = await CustomerStore(redis).get(account)
        if customer is None or customer.region != caller.region:
            raise NotFound(f"no customer {account} in region {caller.region}", field="account", rule="exists")
        return customer

    @delete("/{account:str}", summary="Remove a customer", status_code=204)
    async def remove(
        self, account: FromPath[str], caller: NamedDependency[ApiKey], redis: NamedDependency[Redis]
    ) -> None:
        _require_submitter(caller)
        if not await CustomerStore(redis).remove([account], caller.region):
            raise NotFound(f"no customer {account} in region {caller.region}", field="account", rule="exists")
