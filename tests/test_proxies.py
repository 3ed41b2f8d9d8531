"""X-Forwarded-For is believed only from the proxies an operator names (TRUSTED_PROXIES)."""

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from store.embedded import EmbeddedRedis, free_port
from tests.processes import start_api


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_forwarded_for_counts_only_from_trusted_proxies(
    tmp_path: Path, redis_server: EmbeddedRedis, trusted: str
) -> None:
    env = {
        **os.environ, "REDIS_URL": redis_server.url, "PORT": str(free_port()), "DATA_DIR": str(tmp_path),
        "PUBLIC_RATE_LIMIT": "3", "TRUSTED_PROXIES": trusted,
    }  # fmt: skip
    with (tmp_path / "api.log").open("wb") as log:
        api, base = start_api(env, log)
    try:
        httpx.get(f"{base}/health")  # warm: the six below land within the limit's second

        def lookup(n: int) -> int:
            return httpx.get(
                f"{base}/lookup?q=F{n}", headers={"X-Forwarded-For": f"203.0.113.{n}"}
            ).status_code

        # One local client pretending to be six customers, all at once.
        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(lookup, range(6)))
        if trusted:
            assert statuses == [200] * 6  # the proxy vouches for six different customers
        else:
            # All one client to the limit (3 a second, refilling): some of the six are refused.
            assert statuses.count(200) >= 3 and 429 in statuses, statuses
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(20)
