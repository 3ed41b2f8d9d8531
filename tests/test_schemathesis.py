"""Schemathesis against the service's own OpenAPI schema: no 5xx, and every success matches the schema."""

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from arq.connections import RedisSettings, create_pool
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from schemas.clock import clock_in
from schemas.kinds import Role
from schemas.settings import Settings
from store.api_keys import ApiKeyStore
from store.embedded import EmbeddedRedis, free_port

EXAMPLES = 10


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The app on uvicorn in a thread with its own loop and Redis, and a key with every role."""
    redis_server = EmbeddedRedis(tmp_path_factory.mktemp("schemathesis-redis"))
    redis_server.start()
    port, secret = free_port(), {}
    server_box: dict[str, uvicorn.Server] = {}

    def run() -> None:
        async def main() -> None:
            redis = await create_pool(RedisSettings.from_dsn(redis_server.url))
            settings = Settings(redis_url=redis_server.url, public_rate_limit=0)
            _, secret["key"] = await ApiKeyStore(redis).create(
                name="fuzz", centre="c", region="310115", roles=frozenset(Role), now=clock_in(settings.zone)()
            )
            server_box["server"] = uvicorn.Server(
                uvicorn.Config(
                    create_app(settings, redis), port=port, log_level="error", timeout_graceful_shutdown=1
                )
            )
            await server_box["server"].serve()
            await redis.aclose()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    # A busy CI machine can take a while to import and start the app; give up after a minute.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health").status_code == 200 and "key" in secret:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    else:
        pytest.fail("the app did not start within 60 s")
    yield base, secret["key"]
    server_box["server"].should_exit = True
    thread.join(10)
    redis_server.stop()


def test_no_generated_request_gets_a_server_error(service: tuple[str, str]) -> None:
    base, key = service
    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    server_errors: list[tuple[str, str, int, str]] = []
    mismatches: list[tuple[str, str, str]] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 20
    for operation in operations:
        if operation.path == "/ready":
            continue  # 503 is its answer while no worker runs

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}  # type: ignore[assignment, dict-item]
            response = case.call(base_url=base)
            if response.status_code < 400:
                # A successful answer has the shape the schema promises.
                try:
                    case.validate_response(response, checks=[response_schema_conformance])
                except BaseException as exc:  # schemathesis raises an exception group
                    mismatches.append((case.operation.method, case.operation.path, str(exc)[:300]))
            if response.status_code >= 500:
                server_errors.append(
                    (case.operation.method, case.operation.path, response.status_code, response.text[:200])
                )

        check()
    assert server_errors == []
    assert mismatches == []
