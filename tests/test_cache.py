"""Rendered public responses: requests that miss together share one render."""

import asyncio
from datetime import datetime

import pytest

from api.cache import RenderedCache, cache_key

HTML = "text/html"
JSON = "application/json"
NOW = datetime.fromisoformat("2026-11-23T10:00:00+08:00")


async def test_requests_missing_together_share_one_render() -> None:
    cache = RenderedCache()
    key = cache_key("/outages", "region=310115", 7, NOW)
    renders = 0
    release = asyncio.Event()

    async def render() -> bytes:
        nonlocal renders
        renders += 1
        await release.wait()
        return b"<ul>...</ul>"

    waiting = [asyncio.create_task(cache.through(key, render, media_type=HTML)) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    assert [r.body for r in await asyncio.gather(*waiting)] == [b"<ul>...</ul>"] * 50
    assert renders == 1
    assert (await cache.through(key, render, media_type=HTML)).body == b"<ul>...</ul>"
    assert renders == 1, "a later request is served from the cache"
    assert cache.get(cache_key("/outages", "region=310115", 8, NOW)) is None, "a new version misses"


async def test_a_failed_render_is_not_kept_and_a_gone_client_does_not_cancel_it() -> None:
    cache = RenderedCache()
    key = cache_key("/api/v1/public/outages", "", 1, NOW)
    release = asyncio.Event()
    attempts = 0

    async def flaky() -> bytes:
        nonlocal attempts
        attempts += 1
        await release.wait()
        if attempts == 1:
            raise ConnectionError("redis went away")
        return b"[]"

    gone, staying = (
        asyncio.create_task(cache.through(key, flaky, media_type=JSON)),
        asyncio.create_task(cache.through(key, flaky, media_type=JSON)),
    )
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    with pytest.raises(ConnectionError):
        await staying
    assert cache.get(key) is None
    assert (await cache.through(key, flaky, media_type=JSON)).body == b"[]"
    assert attempts == 2
