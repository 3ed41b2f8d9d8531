"""The real service for a benchmark: `outage-notice serve` in a temporary folder on a free port."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from store.embedded import free_port


def wait_until_answering(url: str, seconds: float) -> None:
    for _ in range(int(seconds * 10)):
        try:
            httpx.get(url)
            return
        except httpx.TransportError:
            time.sleep(0.1)


@contextlib.contextmanager
def running_service(*, demo: bool = False, **settings: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(base URL, environment) of a started service; `settings` are extra environment variables."""
    with tempfile.TemporaryDirectory() as data:
        # The load comes from one address: the public rate limit would measure itself.
        env = {**os.environ, "DATA_DIR": data, "PORT": str(free_port()), "PUBLIC_RATE_LIMIT": "0", **settings}
        base = f"http://127.0.0.1:{env['PORT']}"
        env.pop("REDIS_URL", None)
        command = [sys.executable, "-m", "cli", "serve", *(["--demo"] if demo else [])]
        with (Path(data) / "service.log").open("wb") as log:
            service = subprocess.Popen(command, env=env, stdout=log, stderr=log)
            try:
                wait_until_answering(f"{base}/health", 60)
                yield base, env
            finally:
                service.send_signal(signal.SIGTERM)
                service.wait(60)
