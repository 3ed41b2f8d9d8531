"""A worker keeps running while Redis is gone and takes up work again when it is back."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis as sync_redis

from store.embedded import EmbeddedRedis


def _until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_worker_reconnects_after_redis_restarts(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    env = {**os.environ, "REDIS_URL": server.url, "QUEUE_NAME": "reconnect:q"}
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "workers"], env=env, stdout=log, stderr=log)
    client = sync_redis.Redis.from_url(server.url)
    try:
        assert _until(lambda: client.exists("reconnect:q:health-check"), 60), "worker never started"
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        server.stop()
        time.sleep(2)
        assert worker.poll() is None, "the worker died with Redis"
        restarted = EmbeddedRedis(tmp_path / "redis", port=server.port)
        restarted.start()
        try:
            client.delete("reconnect:q:health-check")
            assert _until(lambda: client.exists("reconnect:q:health-check"), 60), "worker did not come back"
            assert worker.poll() is None
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(20)
            restarted.stop()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        client.close()
        server.stop()
    assert "redis unreachable, worker restarting" in (tmp_path / "worker.log").read_text()
