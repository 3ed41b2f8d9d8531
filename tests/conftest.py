"""Fixtures: one real redis-server for the session, flushed per test; an injected clock."""

import io
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import structlog
from arq.connections import ArqRedis, RedisSettings, create_pool

from publishers.registry import PublisherRegistry
from schemas.keys import ApiKey
from schemas.kinds import Role
from schemas.settings import Settings
from services.logs import configure_logging
from services.outages import OutageService
from store.api_keys import ApiKeyStore
from store.embedded import EmbeddedRedis
from tests.asgi import app_client
from tests.recording import RecordingPublisher
from workers.worker import build_worker

SHANGHAI = ZoneInfo("Asia/Shanghai")
REGION = "310115"
OTHER_REGION = "440305"


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    monkeypatch.setattr("services.logs._request_log", None)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(stream)
    yield stream
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(redis_server: EmbeddedRedis, tmp_path: Path) -> Settings:
    # No real backoff between batch retries: burst workers would sleep through it.
    return Settings(
        redis_url=redis_server.url, data_dir=tmp_path, queue_name="test:queue", sms_retry_base=0.0
    )


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[ArqRedis]:
    assert settings.redis_url is not None
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    await pool.flushdb()
    yield pool
    await pool.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI))


@pytest.fixture
def service(settings: Settings, redis: ArqRedis, clock: FakeClock) -> OutageService:
    return OutageService(settings, redis, clock)


@pytest.fixture
async def client(settings: Settings, redis: ArqRedis, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, redis, clock) as test_client:
        yield test_client


class Keys:
    """API keys of two centres; `headers(name)` gives the Authorization header of one."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.keys: dict[str, ApiKey] = {}

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[name]}"}


@pytest.fixture
async def keys(redis: ArqRedis, clock: FakeClock) -> Keys:
    store = ApiKeyStore(redis)
    found = Keys()
    for name, region, roles in (
        ("submitter", REGION, {Role.SUBMITTER}),
        ("submitter2", REGION, {Role.SUBMITTER}),
        ("reviewer", REGION, {Role.REVIEWER}),
        ("reviewer2", REGION, {Role.REVIEWER}),
        ("emergency", REGION, {Role.EMERGENCY}),
        ("agent", REGION, {Role.AGENT}),
        ("partner", REGION, {Role.PARTNER}),
        ("allroles", REGION, {Role.SUBMITTER, Role.REVIEWER, Role.EMERGENCY}),
        ("other", OTHER_REGION, {Role.SUBMITTER, Role.REVIEWER, Role.EMERGENCY}),
    ):
        key, secret = await store.create(
            name=name, centre=f"centre-{region}", region=region, roles=frozenset(roles), now=clock()
        )
        found.secrets[name] = secret
        found.keys[name] = key
    return found


@pytest.fixture
def recorder() -> RecordingPublisher:
    return RecordingPublisher("recording")


@pytest.fixture
def run_worker(settings: Settings, redis: ArqRedis, clock: FakeClock, recorder: RecordingPublisher) -> Any:
    """Runs queued jobs to completion in burst mode (no sleeping, no background task)."""

    async def run(*publishers: Any) -> None:
        registry = PublisherRegistry(publishers or (recorder,))
        worker = build_worker(settings, clock, publishers=lambda _: registry, redis=redis, burst=True)
        await worker.main()

    return run


async def snapshot(redis: ArqRedis) -> dict[bytes, bytes]:
    """Every key with its serialized value: equal snapshots mean nothing was stored or changed."""
    found = {}
    async for key in redis.scan_iter(match="on:*"):
        found[key] = await redis.dump(key)
    return found


@pytest.fixture
def run_channels(settings: Settings, redis: ArqRedis, clock: FakeClock) -> Any:
    """A burst worker with the real channel publishers (web, and SMS to the outbox)."""

    async def run(custom: Settings | None = None) -> None:
        worker = build_worker(custom or settings, clock, redis=redis, burst=True)
        await worker.main()
        await worker.on_shutdown(worker.ctx)

    return run
