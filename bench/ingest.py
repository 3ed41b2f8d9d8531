"""Ingest benchmark: outage submissions and approvals per second through the real service.

Starts `outage-notice serve` (API + worker + embedded Redis, AOF always) on a free port in a
temporary data folder, creates keys with the CLI, and loads it with wrk (Debian package `wrk`)
from a second process. Every figure is printed next to GET /health of the same server in the
same run.

    .venv/bin/python -m bench.ingest [--seconds 10] [--connections 50]
"""

import argparse
import os
import platform
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.service import running_service
from bench.wrk import api_key, line, wrk


def bench(base: str, env: dict[str, str], seconds: int, connections: int) -> None:
    submitter, reviewer = api_key(env, "submitter"), api_key(env, "reviewer")
    wrk(base, "/health", 2, connections)  # warm-up
    health = wrk(base, "/health", seconds, connections)
    starts = int((datetime.now(UTC) + timedelta(days=8)).timestamp())
    submit = wrk(base, "/api/v1/outages", seconds, connections, "submit.lua", submitter, str(starts), "r1")
    pending = httpx.get(
        f"{base}/api/v1/reviews", headers={"Authorization": f"Bearer {reviewer}"}, timeout=120
    )
    ids_file = Path(env["DATA_DIR"]) / "ids.txt"
    ids_file.write_text("\n".join(item["outage_id"] for item in pending.json()))
    approve = wrk(base, "/", seconds, connections, "approve.lua", reviewer, str(ids_file))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"wrk, 1 thread, {connections} connections, {seconds} s per route, on the same machine as the server"
    )
    print(line("GET /health (baseline)", health, None))
    print(line("POST /api/v1/outages", submit, health))
    print(line("POST .../approve (+enqueue)", approve, health))
    if approve.requests > len(pending.json()):
        print(f"note: approvals outnumbered the {len(pending.json())} pending records; the rest were 409s")


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    with running_service() as (base, env):
        bench(base, env, args.seconds, args.connections)


if __name__ == "__main__":
    run()
