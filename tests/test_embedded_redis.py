"""The embedded redis-server keeps what it acknowledged across a restart (AOF)."""

from pathlib import Path

import redis as sync_redis

from store.embedded import EmbeddedRedis, running_url


def test_data_survives_restart_and_url_file_tracks_the_server(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    url = server.start()
    assert running_url(tmp_path) == url
    client = sync_redis.Redis.from_url(url)
    client.set("on:probe", "kept")
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    client.close()
    server.stop()
    assert running_url(tmp_path) is None

    restarted = EmbeddedRedis(tmp_path)
    client = sync_redis.Redis.from_url(restarted.start())
    assert client.get("on:probe") == b"kept"
    client.close()
    restarted.stop()


def test_data_survives_sigkill(tmp_path: Path) -> None:
    import os
    import signal

    server = EmbeddedRedis(tmp_path)
    client = sync_redis.Redis.from_url(server.start())
    for n in range(100):
        client.set(f"on:k{n}", n)
    client.close()
    assert server.pid is not None
    os.kill(server.pid, signal.SIGKILL)
    server.stop()

    restarted = EmbeddedRedis(tmp_path)
    client = sync_redis.Redis.from_url(restarted.start())
    assert client.get("on:k99") == b"99"
    client.close()
    restarted.stop()
