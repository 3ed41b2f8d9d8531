"""A live page connected before Redis is killed and restarted keeps getting events after it."""

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import redis as sync_redis

from schemas.public import WebEvent
from store.embedded import EmbeddedRedis, free_port
from store.web import WebStore
from tests.processes import start_api


def _event(outage_id: str) -> bytes:
    return msgspec.json.encode(WebEvent(region="310115", outage_id=outage_id, notice="new", version=1))


async def _data_lines(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    async for line in lines:
        data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
        if data:
            yield data


async def test_live_events_survive_a_redis_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    env = {**os.environ, "REDIS_URL": server.url, "PORT": str(free_port()), "DATA_DIR": str(tmp_path)}
    log = (tmp_path / "api.log").open("wb")
    api, base = await asyncio.to_thread(start_api, env, log)
    channel = WebStore(None).events_channel()  # type: ignore[arg-type]
    restarted: EmbeddedRedis | None = None
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=30) as client,
            client.stream("GET", "/events") as stream,
        ):
            assert stream.status_code == 200
            received = _data_lines(stream.aiter_lines())
            publisher = sync_redis.Redis.from_url(server.url)
            await asyncio.sleep(0.3)
            publisher.publish(channel, _event("BEFORE"))
            assert await asyncio.wait_for(anext(received), 10) == "BEFORE"
            publisher.close()
            assert server.pid is not None
            os.kill(server.pid, signal.SIGKILL)
            server.stop()
            await asyncio.sleep(1)
            restarted = EmbeddedRedis(tmp_path / "redis", port=server.port)
            restarted.start()
            # Once subscribed again, the page is told to refresh (it may have missed events)...
            assert await asyncio.wait_for(anext(received), 20) == "*"
            # ...and gets what is published from then on.
            publisher = sync_redis.Redis.from_url(restarted.url)
            publisher.publish(channel, _event("AFTER"))
            publisher.close()
            assert await asyncio.wait_for(anext(received), 10) == "AFTER"
    finally:
        api.send_signal(signal.SIGTERM)
        try:
            api.wait(20)
        except subprocess.TimeoutExpired:
            api.kill()
        log.close()
        if restarted is not None:
            restarted.stop()
        server.stop()
