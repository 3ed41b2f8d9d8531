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
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.service import running_service

LUA = Path(__file__).parent / "lua"


def _key(env: dict[str, str], roles: str) -> str:
    args = ["keys", "create", "--name", roles, "--centre", "bench", "--region", "310115", "--roles", roles]
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True, check=True
    ).stdout
    return next(line.split()[1] for line in out.splitlines() if line.startswith("secret:"))


class Result:
    def __init__(self, output: str) -> None:
        self.rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
        self.requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        self.errors = int(bad.group(1)) if bad else 0
        self.percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.MULTILINE))


def _wrk(
    base: str, path: str, seconds: int, connections: int, script: str | None = None, *args: str
) -> Result:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(LUA / script)]
    command.append(base + path)
    if args:
        command += ["--", *args]
    return Result(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def _line(name: str, result: Result, baseline: Result | None) -> str:
    ratio = f"{result.rate / baseline.rate:5.2f}x of /health" if baseline else ""
    return (
        f"{name:<30} {result.rate:8.0f} req/s  p50 {result.percentiles.get('50', '?'):>8}  "
        f"p99 {result.percentiles.get('99', '?'):>8}  {result.requests:>6} requests, "
        f"{result.errors} errors  {ratio}"
    )


def bench(base: str, env: dict[str, str], seconds: int, connections: int) -> None:
    submitter, reviewer = _key(env, "submitter"), _key(env, "reviewer")
    _wrk(base, "/health", 2, connections)  # warm-up
    health = _wrk(base, "/health", seconds, connections)
    starts = int((datetime.now(UTC) + timedelta(days=8)).timestamp())
    submit = _wrk(base, "/api/v1/outages", seconds, connections, "submit.lua", submitter, str(starts), "r1")
    pending = httpx.get(
        f"{base}/api/v1/reviews", headers={"Authorization": f"Bearer {reviewer}"}, timeout=120
    )
    ids_file = Path(env["DATA_DIR"]) / "ids.txt"
    ids_file.write_text("\n".join(item["outage_id"] for item in pending.json()))
    approve = _wrk(base, "/", seconds, connections, "approve.lua", reviewer, str(ids_file))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"wrk, 1 thread, {connections} connections, {seconds} s per route, on the same machine as the server"
    )
    print(_line("GET /health (baseline)", health, None))
    print(_line("POST /api/v1/outages", submit, health))
    print(_line("POST .../approve (+enqueue)", approve, health))
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
