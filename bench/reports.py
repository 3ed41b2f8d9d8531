"""Storm benchmark: customers' fault reports through the real service.

Starts `outage-notice serve` (one API process, one worker, embedded Redis with AOF always), imports
AREAS x PER_AREA customers (10 feeders of AREAS/10 transformer areas), then wrk posts fault
reports as a 95598 agent's system would: each request the next account, round-robin over the
areas, 1 in 50 a hazard. Nothing is published, so every report becomes a repair order and is
grouped; reports from 3 accounts of an area make a suspected outage, 3 areas of a feeder a
feeder one. Printed: intake per second next to GET /health of the same server in the same run,
how many suspected outages the grouping found against how many it should, and Redis memory per
report (reports, repair orders, grouping windows).

    .venv/bin/python -m bench.reports [--areas 500] [--per-area 20] [--seconds 10] [--connections 50]
"""

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import redis

from bench.service import running_service
from bench.wrk import api_key, line, wrk


def customers_file(folder: str, areas: int, per_area: int) -> Path:
    path = Path(folder) / "customers.csv"
    with path.open("w") as out:
        out.write("account,name,phone,region,feeder,transformer_area,important,language\n")
        for area in range(areas):
            for n in range(per_area):
                phone = f"+86139{area:04d}{n:04d}"
                out.write(f"R{area:04d}{n:03d},C,{phone},310115,F{area % 10},TA-{area:04d},0,zh-CN\n")
    return path


def memory(env: dict[str, str]) -> int:
    url = (Path(env["DATA_DIR"]) / "redis" / "redis.url").read_text().strip()
    client = redis.Redis.from_url(url)
    info: dict[str, int] = client.info("memory")  # type: ignore[assignment]
    used = int(info["used_memory"])
    client.close()
    return used


def found_metric(metrics: str, level: str) -> int:
    """Suspected outages found at `level`, as /metrics counts them (the list shows the newest 500)."""
    match = re.search(rf'^outage_suspected_outages_total{{level="{level}"}} ([\d.]+)$', metrics, re.MULTILINE)
    return int(float(match.group(1))) if match else 0


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--areas", type=int, default=500)
    parser.add_argument("--per-area", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    with running_service() as (base, env), tempfile.TemporaryDirectory() as folder:
        csv = customers_file(folder, args.areas, args.per_area)
        subprocess.run([sys.executable, "-m", "cli", "customers", "import", str(csv)], env=env, check=True,
                       capture_output=True)  # fmt: skip
        agent, reviewer = api_key(env, "agent"), api_key(env, "reviewer")
        wrk(base, "/health", 2, args.connections)  # warm-up
        health = wrk(base, "/health", args.seconds, args.connections)
        before = memory(env)
        reports = wrk(base, "/api/v1/reports", args.seconds, args.connections, "report.lua", agent,
                      str(args.areas), str(args.per_area))  # fmt: skip
        after = memory(env)
        headers = {"Authorization": f"Bearer {reviewer}"}
        metrics = httpx.get(f"{base}/metrics", timeout=120).text
        repairs = httpx.get(f"{base}/api/v1/repairs", headers=headers, timeout=120).json()
    taken = reports.requests - reports.errors
    # Round-robin over areas: after k rounds every area has k distinct accounts reporting.
    rounds = min(args.per_area, taken // args.areas)
    expected_areas = args.areas if rounds >= 3 else 0
    by_level = {level: found_metric(metrics, level) for level in ("transformer_area", "feeder")}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"wrk, 1 thread, {args.connections} connections, {args.seconds} s per route; "
          f"{args.areas * args.per_area} customers in {args.areas} transformer areas on 10 feeders")  # fmt: skip
    print(line("GET /health (baseline)", health, None))
    print(line("POST /api/v1/reports (agent)", reports, health))
    print(f"reports taken: {taken}; repair orders listed: {len(repairs)} (the queue lists the newest 500)")
    print(f"suspected outages: {by_level['transformer_area']} areas (expected {expected_areas}), "
          f"{by_level['feeder']} feeders (expected {10 if rounds >= 1 and args.areas >= 30 else 0})")  # fmt: skip
    print(f"Redis memory: {(after - before) / max(taken, 1):.0f} bytes per report "
          f"({(after - before) / 1e6:.1f} MB for {taken})")  # fmt: skip


if __name__ == "__main__":
    run()
