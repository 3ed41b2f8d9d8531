"""IVR benchmark: latency of the answer a known caller with an outage gets, at 200 concurrent requests.

Starts `outage-notice serve` (API, worker, embedded Redis; SMS to the outbox) in a temporary folder
with a known Twilio auth token so requests can be signed, imports 100,000 synthetic customers,
publishes a fault on one feeder and waits for its SMS, then measures with wrk (Debian `wrk`):
- the menu's answer to "1" (the outages on the caller's feeder, read from the IVR index), next
  to /health, in the same run;
- the same again while a second fault on every feeder fans out to all 100,000 customers.

    .venv/bin/python -m bench.ivr [--customers 100000] [--seconds 10] [--connections 200]
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from bench.openloop import get, measure, post_form
from bench.service import running_service
from bench.wrk import api_key, line, wrk
from services.demo_customers import NETWORK
from store.embedded import free_port

TOKEN = "bench-token"


def fault(base: str, sub: str, rev: str, name: str, feeders: list[str]) -> str:
    located = datetime.now().astimezone() - timedelta(minutes=3)
    body = {
        "external_id": name, "kind": "fault", "title": name, "reason": "台风导致线路跳闸", "region": "310115",
        "area_description": "张江镇", "scope": {"feeders": feeders},
        "starts_at": (located - timedelta(minutes=10)).isoformat(), "fault_located_at": located.isoformat(),
    }  # fmt: skip
    response = httpx.post(f"{base}/api/v1/outages", json=body, headers={"Authorization": f"Bearer {sub}"})
    created = response.json()
    # The reviewer approves the version they read (the record's ETag).
    approver = {"Authorization": f"Bearer {rev}", "If-Match": response.headers["etag"]}
    httpx.post(f"{base}/api/v1/outages/{created['id']}/approve", headers=approver)
    return str(created["id"])


def sms(base: str, rev: str, outage_id: str) -> dict[str, int]:
    report = httpx.get(
        f"{base}/api/v1/outages/{outage_id}/deliveries", headers={"Authorization": f"Bearer {rev}"}
    )
    notices = report.json()["notices"]
    return notices[0]["sms"] if notices else {}


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--api-processes", type=int, default=1)
    parser.add_argument("--rate", type=float, default=300, help="open-loop answers per second")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        tempfile.TemporaryDirectory() as folder,
        running_service(
            PORT=str(port),
            TWILIO_AUTH_TOKEN=TOKEN,
            PUBLIC_BASE_URL=base,
            API_PROCESSES=str(args.api_processes),
        ) as (_, env),
    ):
        csv = Path(folder) / "customers.csv"
        with csv.open("w") as out:
            subprocess.run([sys.executable, "-m", "cli", "customers", "generate", "--count", str(args.customers)],
                           stdout=out, check=True, env=env)  # fmt: skip
        subprocess.run([sys.executable, "-m", "cli", "customers", "import", str(csv)], env=env, check=True,
                       capture_output=True)  # fmt: skip
        sub, rev = api_key(env, "submitter"), api_key(env, "reviewer")
        first = fault(base, sub, rev, "IVR-1", [NETWORK[0][0]])
        for _ in range(1200):
            counts = sms(base, rev, first)
            if counts and counts["queued"] == 0 and counts["sending"] == 0 and counts["recipients"]:
                break
            time.sleep(0.5)
        caller = httpx.get(
            f"{base}/api/v1/customers/3101150000000", headers={"Authorization": f"Bearer {sub}"}
        ).json()["phone"]
        url = f"{base}/ivr/menu?{urlencode({'state': 'main', 'step': 'choose', 'lang': 'zh-CN'})}"
        params = {"From": caller, "To": "+8695598", "CallSid": "CAbench", "Digits": "1"}
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        check = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature})
        assert check.status_code == 200 and "台风" in check.text, check.text[:300]
        path = url.removeprefix(base)
        body = urlencode(params)
        wrk(base, "/health", 2, args.connections)
        health = wrk(base, "/health", args.seconds, args.connections)
        quiet = wrk(base, path, args.seconds, args.connections, "post_form.lua", body, signature)
        host = f"127.0.0.1:{port}"
        answer = post_form(host, path, body, {"X-Twilio-Signature": signature})
        open_health = measure("127.0.0.1", port, get(host, "/health"), args.rate, args.seconds)
        open_quiet = measure("127.0.0.1", port, answer, args.rate, args.seconds)
        storm = fault(base, sub, rev, "IVR-ALL", [feeder for feeder, _ in NETWORK])
        time.sleep(1)
        before = sms(base, rev, storm)
        open_busy = measure("127.0.0.1", port, answer, args.rate, args.seconds)
        during_open = sms(base, rev, storm)
        busy_health = wrk(base, "/health", args.seconds, args.connections)
        busy = wrk(base, path, args.seconds, args.connections, "post_form.lua", body, signature)
        after = sms(base, rev, storm)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"wrk 1 thread, {args.connections} connections, {args.seconds} s per run; "
        f"{args.api_processes} API process(es), one worker"
    )
    print(line("GET /health (baseline)", health, None))
    print(line("IVR answer to '1', known caller with an outage", quiet, health))
    print(f"during the fan-out of {after.get('recipients', 0):,} SMS "
          f"(handed over {before.get('accepted', 0):,} -> {after.get('accepted', 0):,} during the runs):")  # fmt: skip
    print(line("GET /health (baseline)", busy_health, None))
    print(line("IVR answer to '1', during the fan-out", busy, busy_health))
    print(f"open loop (bench/openloop.py), {args.rate:.0f} requests/s offered, latency from the due time:")
    print(open_health.line("GET /health (baseline)"))
    print(open_quiet.line("IVR answer to '1'"))
    print(open_busy.line("IVR answer to '1', during the fan-out"))
    print(f"  (the fan-out handed over {before.get('accepted', 0):,} -> {during_open.get('accepted', 0):,} "
          "during that open-loop run)")  # fmt: skip


if __name__ == "__main__":
    run()
