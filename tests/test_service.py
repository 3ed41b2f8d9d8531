"""The README's first command, run for real: `outage-notice serve --demo`, and the keys CLI."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from store.embedded import EmbeddedRedis, free_port
from tests.processes import healthy, run_cli


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATA_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    log_path = tmp_path / "service.log"
    log = log_path.open("wb")
    # Its own process group, as a terminal's foreground job: Ctrl-C goes to the whole group.
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--demo"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    # Loading the demo data takes seconds here, longer on a slow disk.
    if not healthy(process, base, 120):
        process.kill()
        process.wait()
        log.close()
        pytest.fail(f"service did not start:\n{log_path.read_text()}")
    yield base, env
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(20)
    log.close()
    assert not (tmp_path / "redis" / "redis.url").exists(), "embedded Redis left running"


def test_new_user_walkthrough(service: tuple[str, dict[str, str]]) -> None:
    base, env = service
    created = run_cli(
        "keys", "create", "--name", "Li", "--centre", "jinshan-dispatch", "--region", "310116", "--roles", "submitter",
        env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = next(line.split()[1] for line in created.stdout.splitlines() if line.startswith("secret:"))
    reviewer = run_cli(
        "keys", "create", "--name", "Wang", "--centre", "jinshan-dispatch", "--region", "310116", "--roles", "reviewer",
        env=env,
    )  # fmt: skip
    reviewer_secret = next(
        line.split()[1] for line in reviewer.stdout.splitlines() if line.startswith("secret:")
    )
    listed = run_cli("keys", "list", env=env)
    assert "jinshan-dispatch" in listed.stdout
    assert secret not in listed.stdout

    submitter = {"Authorization": f"Bearer {secret}"}
    now = datetime.now().astimezone()
    body = {
        "external_id": "JS-1",
        "kind": "planned",
        "title": "Line maintenance",
        "reason": "Switchgear",
        "region": "310116",
        "area_description": "Jinshan Avenue",
        "scope": {"feeders": ["JS-01"]},
        "starts_at": (now + timedelta(days=8)).isoformat(),
        "ends_at": (now + timedelta(days=8, hours=6)).isoformat(),
    }
    accepted = httpx.post(f"{base}/api/v1/outages", json=body, headers=submitter)
    assert accepted.status_code == 201, accepted.text
    soon = {**body, "external_id": "JS-2", "starts_at": (now + timedelta(days=3)).isoformat(),
            "ends_at": (now + timedelta(days=3, hours=6)).isoformat()}  # fmt: skip
    refused = httpx.post(f"{base}/api/v1/outages", json=soon, headers=submitter)
    assert refused.status_code == 422
    assert refused.json()["extra"]["suggested_kind"] == "temporary"

    outage_id = accepted.json()["id"]
    as_reviewer = {"Authorization": f"Bearer {reviewer_secret}"}
    version = httpx.get(f"{base}/api/v1/outages/{outage_id}", headers=as_reviewer).headers["etag"]
    approved = httpx.post(
        f"{base}/api/v1/outages/{outage_id}/approve", headers={**as_reviewer, "If-Match": version}
    )
    assert approved.json()["status"] == "published"
    history = httpx.get(f"{base}/api/v1/outages/{outage_id}/history", headers=submitter).json()
    assert [h["action"] for h in history][:2] == ["submitted", "approved"]

    demo = httpx.get(f"{base}/api/v1/outages", headers={"Authorization": "Bearer demo-reviewer"}).json()
    assert demo["total"] >= 6
    assert {o["status"] for o in demo["items"]} >= {"published", "pending_review", "restored"}
    docs = httpx.get(f"{base}/schema/openapi.json").json()
    assert "/api/v1/outages" in docs["paths"]

    # The worker dies (OOM killer, a crash): serve starts it again and the service is ready again.
    worker = _worker_pid(service_pid(base))
    assert worker is not None
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replaced = _worker_pid(service_pid(base), missing_ok=True)
        if replaced not in (None, worker):
            break
        time.sleep(0.2)
    else:
        pytest.fail("serve did not start a new worker")
    assert httpx.get(f"{base}/ready").status_code in (200, 503)


def service_pid(base: str) -> int:
    """The `serve` process listening on `base`'s port."""
    port = base.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
                environ = (proc / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmdline and f"PORT={port}".encode() in environ:
                return int(proc.name)
    raise AssertionError("no serve process")


def _worker_pid(parent: int, missing_ok: bool = False) -> int | None:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat[1]) == parent and b"workers" in cmdline:
            return int(proc.name)
    if missing_ok:
        return None
    raise AssertionError("serve has no worker")


def test_keys_cli_without_a_running_service_uses_the_data_folder(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    created = run_cli(
        "keys", "create", "--name", "a", "--centre", "c", "--region", "1", "--roles", "reviewer", env=env
    )
    assert created.returncode == 0, created.stderr
    bad_role = run_cli(
        "keys", "create", "--name", "a", "--centre", "c", "--region", "1", "--roles", "boss", env=env
    )
    assert bad_role.returncode == 2
    assert "submitter, reviewer, emergency" in bad_role.stderr
    with EmbeddedRedis(tmp_path / "redis") as server:
        env["REDIS_URL"] = server.url
        assert " c " in run_cli("keys", "list", env=env).stdout


def test_a_second_start_on_the_same_data_or_port_is_refused_in_one_line(
    service: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, env = service
    url_file = Path(env["DATA_DIR"]) / "redis" / "redis.url"
    before = url_file.read_text()
    same_data = run_cli("serve", env={**env, "PORT": str(free_port())})
    assert same_data.returncode == 2
    assert "in use by process" in same_data.stderr and len(same_data.stderr.strip().splitlines()) == 1
    assert "API docs" not in same_data.stdout and "Traceback" not in same_data.stderr
    same_port = run_cli("serve", env={**env, "DATA_DIR": str(tmp_path / "other")})
    assert same_port.returncode == 2
    assert "cannot listen on" in same_port.stderr and same_port.stdout == ""
    assert not (tmp_path / "other").exists()
    # The running service is untouched: its store's address is where it was, and a key made now
    # through it works at once.
    assert url_file.read_text() == before
    made = run_cli(
        "keys", "create", "--name", "n", "--centre", "c", "--region", "310115", "--roles", "reviewer", env=env
    )
    secret = next(line.split()[1] for line in made.stdout.splitlines() if line.startswith("secret:"))
    assert (
        httpx.get(f"{base}/api/v1/reviews", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )


def test_one_ctrl_c_stops_the_service_with_a_live_page_open(service: tuple[str, dict[str, str]]) -> None:
    base, env = service
    serve = service_pid(base)
    log = Path(env["DATA_DIR"]) / "service.log"
    with httpx.stream("GET", f"{base}/events", timeout=10) as live:
        assert live.status_code == 200
        next(live.iter_lines())
        started = time.monotonic()
        os.killpg(serve, signal.SIGINT)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{serve}").exists() and time.monotonic() < deadline:
            try:
                if (Path(f"/proc/{serve}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z":
                    break
            except OSError:
                break
            time.sleep(0.05)
        stopped = time.monotonic() - started
    print(f"\nstopped {stopped:.2f} s after Ctrl-C")
    # When slow, the service's own log says which part kept it (worker, store, API).
    assert stopped < 2.5, (stopped, log.read_text()[-3000:])
    assert "Traceback" not in log.read_text()
