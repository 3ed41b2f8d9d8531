"""With Redis gone the API answers 503 at once, with Retry-After, instead of hanging or 500."""

import time
from pathlib import Path

from arq.connections import ArqRedis

from schemas.settings import Settings
from store.embedded import free_port
from tests.asgi import app_client


async def test_unreachable_store_is_503(redis_server: object, tmp_path: Path) -> None:
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", data_dir=tmp_path)
    assert settings.redis_url is not None
    # A client that connects lazily: arq's create_pool would refuse to start without a server.
    pool = ArqRedis.from_url(settings.redis_url)
    async with app_client(settings, pool) as client:
        started = time.monotonic()
        response = await client.get("/api/v1/outages", headers={"Authorization": "Bearer anything"})
        elapsed = time.monotonic() - started
    await pool.aclose()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["extra"]["rule"] == "store_available"
    assert elapsed < 2
