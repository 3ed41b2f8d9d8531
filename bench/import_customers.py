"""Customer import benchmark: a synthetic file of N rows into an empty embedded Redis, then again.

.venv/bin/python -m bench.import_customers [--rows 1000000]
"""

import argparse
import asyncio
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from arq.connections import RedisSettings, create_pool

from services.customers import import_customers
from services.demo_customers import synthetic_customers
from store.embedded import EmbeddedRedis


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "customers.csv"
        started = time.perf_counter()
        with csv_path.open("w", encoding="utf-8") as out:
            out.writelines(synthetic_customers(rows))
        written = time.perf_counter() - started
        size = csv_path.stat().st_size
        with EmbeddedRedis(Path(folder) / "redis") as server:
            redis = await create_pool(RedisSettings.from_dsn(server.url))
            timings = []
            for run in ("first import", "same file again"):
                started = time.perf_counter()
                # As `outage-notice customers import` does: rows validated in a process pool.
                with csv_path.open(encoding="utf-8") as lines, ProcessPoolExecutor() as pool:
                    report = await import_customers(redis, lines, executor=pool)
                elapsed = time.perf_counter() - started
                timings.append((run, elapsed, report))
            memory = (await redis.info("memory"))["used_memory_human"]
            await redis.aclose()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{rows:,} rows, {size / 1e6:.0f} MB file written in {written:.1f} s")
    for run, elapsed, report in timings:
        print(
            f"{run:<16} {elapsed:7.1f} s  {rows / elapsed:9,.0f} rows/s  "
            f"inserted {report.inserted:,} updated {report.updated:,} unchanged {report.unchanged:,} "
            f"rejected {report.rejected:,}"
        )
    print(f"Redis memory after import: {memory}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().rows))
