"""Customer registry over HTTP: the file upload, one customer read or removed."""

import io
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from schemas.customers import (
    CONVERT_HINT,
    ENCODING_SAMPLE,
    Customer,
    FileProblem,
    ImportReport,
    file_encoding,
)
from schemas.errors import Forbidden, NotFound, Unprocessable
from schemas.keys import ApiKey
from schemas.kinds import Role
from services.customers import CustomerService


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
        customers: NamedDependency[CustomerService],
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
            return await customers.import_lines(lines, caller.region)
        except FileProblem as exc:
            raise Unprocessable(str(exc), field="body", rule="csv_header") from None
        except UnicodeDecodeError:
            raise refusal from None

    @get("/{account:str}", summary="One customer")
    async def read(
        self,
        account: FromPath[str],
        caller: NamedDependency[ApiKey],
        customers: NamedDependency[CustomerService],
    ) -> Customer:
        customer = await customers.in_region(account, caller.region)
        if customer is None:
            raise NotFound(f"no customer {account} in region {caller.region}", field="account", rule="exists")
        return customer

    @delete("/{account:str}", summary="Remove a customer", status_code=204)
    async def remove(
        self,
        account: FromPath[str],
        caller: NamedDependency[ApiKey],
        customers: NamedDependency[CustomerService],
    ) -> None:
        _require_submitter(caller)
        if not await customers.remove(account, caller.region):
            raise NotFound(f"no customer {account} in region {caller.region}", field="account", rule="exists")
