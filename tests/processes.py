"""The service's processes, started as an operator starts them."""

import subprocess
import sys
import time
from typing import IO

import httpx


def healthy(process: subprocess.Popen[bytes], base: str, seconds: float) -> bool:
    """Whether `process` answers /health at `base` within `seconds` (False at once if it died).

    A ceiling, not a measure: a busy CI machine starts Python slowly."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.1)
    return False


def start_api(env: dict[str, str], log: IO[bytes]) -> tuple[subprocess.Popen[bytes], str]:
    """`outage-notice api` as an operator runs it, once it answers /health."""
    api = subprocess.Popen([sys.executable, "-m", "cli", "api"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{env['PORT']}"
    assert healthy(api, base, 60), "the API did not start"
    return api, base


def run_cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`outage-notice ...` as an operator types it; its output and exit code."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
