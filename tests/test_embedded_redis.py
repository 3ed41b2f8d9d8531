"""The embedded redis-server keeps what it acknowledged across a restart (AOF)."""

from pathlib import Path

import pytest
import redis as sync_redis

from schemas.settings import SettingsError, settings_from_env
from store.embedded import EmbeddedRedis, running_url


def test_data_survives_restart_and_url_file_tracks_the_server(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    url = server.start()
    assert running_url(tmp_path) == url
    client = sync_redis.Redis.from_url(url)
    client.set("on:probe", "kept")
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("appendfsync") == {"appendfsync": "always"}
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


def test_the_fsync_policy_is_a_setting_with_always_by_default(tmp_path: Path) -> None:
    assert settings_from_env({}).redis_appendfsync == "always"
    chosen = settings_from_env({"REDIS_APPENDFSYNC": "everysec"}).redis_appendfsync
    with EmbeddedRedis(tmp_path, appendfsync=chosen) as server:
        client = sync_redis.Redis.from_url(server.url)
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        client.close()
    with pytest.raises(SettingsError, match="REDIS_APPENDFSYNC='no': expected always or everysec"):
        settings_from_env({"REDIS_APPENDFSYNC": "no"})


def test_only_the_services_user_can_reach_the_embedded_server(tmp_path: Path) -> None:
    import stat
    from urllib.parse import urlsplit

    with EmbeddedRedis(tmp_path / "redis") as server:
        parts = urlsplit(server.url)
        anonymous = sync_redis.Redis(host="127.0.0.1", port=parts.port or 0)
        with pytest.raises(sync_redis.AuthenticationError):
            anonymous.get("on:anything")
        with pytest.raises(sync_redis.AuthenticationError):
            anonymous.eval("return 1", 0)
        anonymous.close()
        client = sync_redis.Redis.from_url(server.url)
        version: dict[str, str] = client.info("server")  # type: ignore[assignment]
        assert version.get("valkey_version", "0") >= "9.1", version
        client.close()
        # The secret lives in files of this user only, inside a directory of this user only.
        assert stat.S_IMODE((tmp_path / "redis").stat().st_mode) == 0o700
        for name in ("password", "server.conf", "redis.url"):
            assert stat.S_IMODE((tmp_path / "redis" / name).stat().st_mode) == 0o600, name
        # And never on the command line, where `ps` shows it to everyone.
        assert server.pid is not None
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes()
        assert server.password.encode() not in cmdline
