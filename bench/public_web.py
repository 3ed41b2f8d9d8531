"""Public web benchmark: the public JSON API and the outage list page under load, next to /health.

Starts `outage-notice serve --demo` in a temporary folder, publishes N more fault outages through
the dispatch API (faults go out at any hour), waits until the web channel shows them, then loads
each route with wrk (Debian package `wrk`) for the same time in the same run.

    .venv/bin/python -m bench.public_web [--outages 200] [--seconds 10] [--connections 50]
"""

import argparse
import os
import platform
import time
from datetime import datetime, timedelta

import httpx

from bench.service import running_service
from bench.wrk import line, wrk

SUB = {"Authorization": "Bearer demo-submitter"}
REV = {"Authorization": "Bearer demo-reviewer"}


def publish(base: str, count: int) -> None:
    now = datetime.now().astimezone()
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(count):
            located = now - timedelta(minutes=5)
            body = {
                "external_id": f"WEB-{n}", "kind": "fault", "title": f"Feeder trip {n}", "reason": "Typhoon damage",
                "region": "310115", "area_description": f"Zhangjiang block {n}", "scope": {"feeders": [f"W-{n}"]},
                "starts_at": (located - timedelta(minutes=10)).isoformat(), "fault_located_at": located.isoformat(),
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
    args = parser.parse_args()
    with running_service(demo=True) as (base, _):
        publish(base, args.outages)
        shown = len(httpx.get(f"{base}/api/v1/public/outages").json()["items"])
        wrk(base, "/health", 2, args.connections)
        health = wrk(base, "/health", args.seconds, args.connections)
        api = wrk(base, "/api/v1/public/outages", args.seconds, args.connections)
        page = wrk(base, "/outages?region=310115", args.seconds, args.connections)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"{shown} public outages listed; wrk 1 thread, {args.connections} connections, {args.seconds} s per route"
    )
    print(line("GET /health (baseline)", health, None))
    print(line("GET /api/v1/public/outages", api, health))
    print(line("GET /outages?region=310115 (page)", page, health))


if __name__ == "__main__":
    run()
