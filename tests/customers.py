"""Customer files for tests."""

from typing import Any

from arq.connections import ArqRedis

from schemas.customers import ImportReport
from services.customers import import_customers

HEADER = "account,name,phone,region,feeder,transformer_area,important,language\n"


def row(account: str, phone: str, *, region: str = "310115", feeder: str = "F1", area: str = "TA-9",
        important: bool = False, language: str = "zh-CN") -> str:  # fmt: skip
    return f"{account},Name {account},{phone},{region},{feeder},{area},{int(important)},{language}\n"


def phone(n: int) -> str:
    return f"+86138{n:08d}"


async def load(redis: ArqRedis, *rows: str, **kwargs: Any) -> ImportReport:
    return await import_customers(redis, (HEADER + "".join(rows)).splitlines(keepends=True), **kwargs)
