"""Public web benchmark: the public JSON API and the outage list page under load, next to /health.

Starts `outage-notice serve --demo` in a temporary folder, publishes N more fault outages through
the dispatch API (faults go out at any hour), waits until the web channel shows them, then loads
each route with wrk (Debian package `wrk`) for the same time in the same run.

    .venv/bin/python -m bench.public_web [--outages 200] [--seconds 10] [--connections 50] [--api-processes 1]
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timedelta

import httpx

from bench.openloop import get, measure
from bench.service import running_service, wait_until_answering
from bench.wrk import line, wrk
from store.embedded import free_port

SUB = {"Authorization": "Bearer demo-submitter"}
REV = {"Authorization": "Bearer demo-reviewer"}


def square(n: int) -> list[list[float]]:
    """A small block of its own for outage n, [latitude, longitude], on a 40-wide grid."""
    lat, lon = 31.0 + (n // 40) * 0.01, 121.4 + (n % 40) * 0.01
    return [[lat, lon], [lat, lon + 0.008], [lat + 0.008, lon + 0.008], [lat + 0.008, lon], [lat, lon]]


def publish(base: str, count: int) -> None:
    now = datetime.now().astimezone()
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(count):
            located = now - timedelta(minutes=5)
            body = {
                "external_id": f"WEB-{n}", "kind": "fault", "title": f"Feeder trip {n}", "reason": "Typhoon damage",
                "region": "310115", "area_description": f"Zhangjiang block {n}", "scope": {"feeders": [f"W-{n}"]},
                "starts_at": (located - timedelta(minutes=10)).isoformat(), "fault_located_at": located.isoformat(),
                "polygon": square(n),
            }  # fmt: skip
            created = client.post("/api/v1/outages", json=body, headers=SUB)
            # The reviewer approves the version they read (the record's ETag).
            version = {"If-Match": created.headers["etag"]}
            client.post(f"/api/v1/outages/{created.json()['id']}/approve", headers={**REV, **version})
        for _ in range(600):
            if len(client.get("/api/v1/public/outages").json()["items"]) >= count:
                return
            time.sleep(0.1)
    raise RuntimeError("the web channel did not show the outages")


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outages", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rate", type=float, default=1000, help="open-loop requests per second")
    parser.add_argument("--api-processes", type=int, default=1)
    args = parser.parse_args()
    with running_service(demo=True, API_PROCESSES=str(args.api_processes)) as (base, _):
        publish(base, args.outages)
        size = len(httpx.get(f"{base}/api/v1/public/outages").content)
        shown = len(httpx.get(f"{base}/api/v1/public/outages").json()["items"])
        wrk(base, "/health", 2, args.connections)
        health = wrk(base, "/health", args.seconds, args.connections)
        api = wrk(base, "/api/v1/public/outages", args.seconds, args.connections)
        page = wrk(base, "/outages?region=310115", args.seconds, args.connections)
        summary = wrk(base, "/api/v1/public/summary", args.seconds, args.connections)
        storm = wrk(base, "/storm", args.seconds, args.connections)
        port = int(base.rsplit(":", 1)[1])
        host = f"127.0.0.1:{port}"
        open_api = measure("127.0.0.1", port, get(host, "/api/v1/public/outages"), args.rate, args.seconds)
        open_health = measure("127.0.0.1", port, get(host, "/health"), args.rate, args.seconds)
    # The framework's floor, the same machine, right after: a prebuilt body of the same size.
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "bench.bare", str(bare_port), str(size)])
    try:
        bare_base = f"http://127.0.0.1:{bare_port}"
        wait_until_answering(f"{bare_base}/ping", 10)
        bare_ping = wrk(bare_base, "/ping", args.seconds, args.connections)
        bare_body = wrk(bare_base, "/body", args.seconds, args.connections)
    finally:
        bare.terminate()
        bare.wait(10)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"{shown} public outages listed; {args.api_processes} API process(es); wrk 1 thread, "
        f"{args.connections} connections, {args.seconds} s per route"
    )
    print(line("GET /health (baseline)", health, None))
    print(line("GET /api/v1/public/outages", api, health))
    print(line("GET /outages?region=310115 (page)", page, health))
    print(line("GET /api/v1/public/summary (storm)", summary, health))
    print(line("GET /storm (page)", storm, health))
    print(f"bare Litestar app (bench/bare.py), a prebuilt {size:,}-byte body, right after:")
    print(line("GET /ping (bare)", bare_ping, None))
    print(line(f"GET /body (bare, {size:,} bytes)", bare_body, bare_ping))
    print(
        f"public JSON at {api.rate / bare_body.rate:.2f}x of the bare body route; "
        f"the page at {page.rate / bare_body.rate:.2f}x; the storm summary at {summary.rate / bare_body.rate:.2f}x, "
        f"its page at {storm.rate / bare_body.rate:.2f}x"
    )
    print(f"open loop (bench/openloop.py), {args.rate:.0f} requests/s offered, latency from the due time:")
    print(open_health.line("GET /health (baseline)"))
    print(open_api.line("GET /api/v1/public/outages"))


if __name__ == "__main__":
    run()
