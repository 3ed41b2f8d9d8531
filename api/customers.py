"""Customer registry: CSV import (API and CLI share it), lookup and removal."""

from collections.abc import Iterable
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from redis.asyncio import Redis

from schemas.customers import Customer, FileProblem, ImportReport, RowProblem, parse_customer_csv
from schemas.errors import Forbidden, NotFound, Unprocessable
from schemas.keys import ApiKey
from schemas.kinds import Role
from store.customers import BATCH, CustomerStore

# A report lists this many rejected rows; `rejected` still counts them all.
MAX_LISTED_PROBLEMS = 1000


async def import_customers(redis: Redis, lines: Iterable[str], region: str | None = None) -> ImportReport:
    """Upserts the good rows of a customer file; rows of another region than `region` are rejected."""
    store = CustomerStore(redis)
    report = ImportReport()
    batch: list[Customer] = []

    def reject(problem: RowProblem) -> None:
        report.rejected += 1
        if len(report.problems) < MAX_LISTED_PROBLEMS:
            report.problems.append(problem)

    async def flush() -> None:
        counts = await store.upsert(batch)
        report.inserted += counts.inserted
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        batch.clear()

    for item in parse_customer_csv(lines):
        if isinstance(item, RowProblem):
            reject(item)
        elif region is not None and item.region != region:
            reject(
                RowProblem(
                    0, f"account {item.account}: region {item.region} is not this key's region {region}"
                )
            )
        else:
            batch.append(item)
            if len(batch) >= BATCH:
                await flush()
    if batch:
        await flush()
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
            "(zh-CN or en), optional address. Upserts by account; rows of other regions, bad phone "
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
        try:
            # Read raw: Litestar would decode a body it has no codec for as JSON.
            text = (await request.body()).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Unprocessable(f"body: the file is not UTF-8 ({exc})", field="body", rule="utf8") from None
        try:
            return await import_customers(redis, text.splitlines(keepends=True), caller.region)
        except FileProblem as exc:
            raise Unprocessable(str(exc), field="body", rule="csv_header") from None

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
        customer = await CustomerStore(redis).get(account)
        if customer is None or customer.region != caller.region:
            raise NotFound(f"no customer {account} in region {caller.region}", field="account", rule="exists")
        await CustomerStore(redis).remove([account])
