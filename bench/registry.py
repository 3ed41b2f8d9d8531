"""The registry at a province's size: bytes per customer, import time, audience resolution.

    .venv/bin/python -m bench.registry --customers 1000000
    .venv/bin/python -m bench.registry --customers 10000000

A synthetic file (Chinese names and addresses, about 20 households per address, 200 customers per
transformer area) where the first million customers are all on one feeder (`BIG`, 5,000 areas)
and the rest on feeders of 4,000, is imported as `outage-notice customers import` does (rows
validated in a process pool) into an empty embedded Valkey with AOF `always`.

Printed, all from the same run: Redis memory per customer; import rows/s; the time to resolve
the audience of the 1M-customer feeder (CustomerStore.resolve, what a notice's fan-out does) and
of a 4,000-customer feeder; baselines: the same customers' first 100,000 written in the layout
before the buckets (a key per customer, a set per phone and address, a set per feeder and area)
for memory, and SUNIONSTORE of one ready 1M-member set (that layout's whole resolution cost).
"""

import argparse
import asyncio
import os
import platform
import random
import tempfile
import time
from collections.abc import Awaitable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

import msgspec
from arq.connections import RedisSettings, create_pool
from redis.asyncio import Redis

from schemas.customers import Customer, address_key
from services.customers import import_customers
from services.demo_customers import GIVEN, ROADS, SURNAMES
from store import keys
from store.customers import CustomerStore, address_digest
from store.embedded import EmbeddedRedis

T = TypeVar("T")
REGION = "310115"
BIG = 1_000_000
HEADER = "account,name,phone,region,feeder,transformer_area,important,language,address\n"


def feeder_of(n: int) -> str:
    return "BIG" if n < BIG else f"F{(n - BIG) // 4000:05d}"


def rows(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    lines = [HEADER]
    for n in range(count):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if n % 2 else "")
        road = ROADS[(n // 20) % len(ROADS)]
        address = f"{road}{(n // 20) % 2000 + 1}号{n % 20 + 1}室"
        lines.append(
            f"3101{n:09d},{name},+86139{n:08d},{REGION},{feeder_of(n)},TA-{n // 200:06d},"
            f"{int(n % 20 == 0)},{'en' if n % 10 == 0 else 'zh-CN'},{address}\n"
        )
    return lines


async def old_layout_bytes(redis: Redis, customers: list[Customer]) -> float:
    """Memory per customer of the layout before the buckets (store/customers.py at 7f89765)."""
    before = int((await redis.info("memory"))["used_memory"])
    encode = msgspec.msgpack.Encoder().encode
    for start in range(0, len(customers), 2000):
        async with redis.pipeline(transaction=False) as pipe:
            for c in customers[start : start + 2000]:
                pipe.set(f"old:cust:{c.account}", encode(c))
                pipe.sadd(f"old:cphone:{c.phone}", c.account)
                pipe.sadd(f"old:caddr:{address_key(c.address)}", c.account)
                pipe.sadd(f"old:cidx:{c.region}:feeder:{c.feeder}", c.account)
                pipe.sadd(f"old:cidx:{c.region}:area:{c.transformer_area}", c.account)
            await pipe.execute()
    after = int((await redis.info("memory"))["used_memory"])
    doomed = [key async for key in redis.scan_iter(match="old:*", count=10_000)]
    for start in range(0, len(doomed), 10_000):
        await redis.unlink(*doomed[start : start + 10_000])
    return (after - before) / len(customers)


async def timed(action: Awaitable[T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = await action
    return time.perf_counter() - started, result


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "customers.csv"
        lines = rows(count)
        csv_path.write_text("".join(lines), encoding="utf-8")
        with EmbeddedRedis(Path(folder) / "redis") as server:
            redis = await create_pool(RedisSettings.from_dsn(server.url))
            empty = int((await redis.info("memory"))["used_memory"])
            started = time.perf_counter()
            with csv_path.open(encoding="utf-8") as handle, ProcessPoolExecutor() as pool:
                report = await import_customers(redis, handle, executor=pool)
            imported = time.perf_counter() - started
            assert report.inserted == count, report
            used = int((await redis.info("memory"))["used_memory"])
            store = CustomerStore(redis)
            big = min(count, BIG)
            big_s, big_size = await timed(
                store.resolve("bench:big", REGION, feeders=["BIG"], transformer_areas=[], accounts=[], important_only=False)
            )  # fmt: skip
            assert big_size == big, (big_size, big)
            small_s = small_size = None
            if count > BIG + 4000:
                small_s, small_size = await timed(
                    store.resolve("bench:small", REGION, feeders=[feeder_of(BIG)], transformer_areas=[], accounts=[], important_only=False)
                )  # fmt: skip
            started = time.perf_counter()
            await redis.execute_command("SUNIONSTORE", "bench:copy", "bench:big")  # type: ignore[no-untyped-call]
            baseline_s = time.perf_counter() - started
            await redis.delete("bench:big", "bench:small", "bench:copy")
            sample = [c for c in await store.many([f"3101{n:09d}" for n in range(min(count, 100_000))]) if c]
            old_bytes = await old_layout_bytes(redis, sample)
            encodings = {
                name: (await redis.object("encoding", key)).decode()
                for name, key in (
                    ("customers", keys.customer_bucket("3101000000000")),
                    ("phones", keys.phone_index("+8613900000000")),
                    ("addresses", keys.address_index(address_digest(address_key(ROADS[0] + "1号")))),
                    ("feeder-and-area set", keys.customers_supplied(REGION, "BIG", "TA-000000")),
                )
                if await redis.exists(key)
            }
            await redis.aclose()
    per_customer = (used - empty) / count
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{count:,} customers; import {imported:.1f} s = {count / imported:,.0f} rows/s (AOF always)")
    print(
        f"Redis memory: {per_customer:.0f} bytes per customer ({(used - empty) / 1e6:,.0f} MB); "
        f"baseline, the layout before the buckets, same run: {old_bytes:.0f} bytes per customer "
        f"(ratio {per_customer / old_bytes:.2f})"
    )
    print(f"encodings: {encodings}")
    print(
        f"audience of the {big:,}-customer feeder resolved in {big_s:.2f} s; baseline SUNIONSTORE of "
        f"one ready {big:,}-member set {baseline_s:.2f} s (ratio {big_s / baseline_s:.1f})"
    )
    if small_s is not None:
        print(f"audience of a {small_size:,}-customer feeder resolved in {small_s * 1000:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().customers))
