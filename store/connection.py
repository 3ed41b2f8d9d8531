"""The one way this service connects to Redis/Valkey: with a time limit on every call.

A stalled server (SIGSTOP, a network that drops packets) would otherwise hold a request for as
long as the kernel keeps the connection (45 s and more): with a limit the call fails, the API
answers 503 with Retry-After, and the next call after the server is back succeeds.
"""

import asyncio
from collections.abc import Sequence
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import TimeoutError as RedisTimeoutError

from schemas.settings import Settings


class BoundedRedis(ArqRedis):
    """Every command, however many steps it takes (connect, AUTH, a health-check PING, a reply),
    ends within `command_timeout` seconds: the socket timeout bounds each read, not their sum."""

    command_timeout: float = 0.0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if not self.command_timeout:
            return await super().execute_command(*args, **options)
        try:
            async with asyncio.timeout(self.command_timeout):
                return await super().execute_command(*args, **options)
        except TimeoutError:
            raise RedisTimeoutError(f"no answer from Redis within {self.command_timeout}s") from None


class SentinelBoundedRedis(BoundedRedis):
    """A BoundedRedis of the primary the sentinels name; closing it closes the connections to
    the sentinels too."""

    sentinel_manager: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinel_manager is not None:
            for sentinel in self.sentinel_manager.sentinels:
                await sentinel.aclose()


def connect(url: str, timeout: float) -> ArqRedis:
    """A client that connects on first use; every command fails after `timeout` seconds."""
    client: BoundedRedis = BoundedRedis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        socket_keepalive=True,
        # A connection idle past this is checked with PING before use (a restarted server).
        health_check_interval=30,
    )
    client.command_timeout = timeout
    return client


def connect_sentinel(
    sentinels: Sequence[tuple[str, int]],
    master: str,
    timeout: float,
    *,
    password: str | None = None,
    sentinel_password: str | None = None,
) -> ArqRedis:
    """A client of whichever server the sentinels name primary of `master`. A connection to a
    dead primary fails (503 for that request); the next one asks the sentinels again, and a
    demoted primary's READONLY answer closes the connection, so the client follows a failover
    without a restart."""
    manager = Sentinel(
        list(sentinels),
        socket_timeout=timeout,
        sentinel_kwargs={
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "password": sentinel_password,
        },
    )
    client = manager.master_for(
        master,
        redis_class=SentinelBoundedRedis,
        password=password,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        socket_keepalive=True,
        health_check_interval=30,
    )
    assert isinstance(client, SentinelBoundedRedis)
    client.command_timeout = timeout
    client.sentinel_manager = manager
    return client


def connect_store(settings: Settings) -> ArqRedis:
    """The store these settings name: through the sentinels if any, else REDIS_URL."""
    if settings.redis_sentinels:
        return connect_sentinel(
            settings.redis_sentinels,
            settings.redis_sentinel_master,
            settings.redis_timeout,
            password=settings.redis_password,
            sentinel_password=settings.redis_sentinel_password,
        )
    if settings.redis_url is None:
        raise ValueError("no store configured: set REDIS_URL or REDIS_SENTINELS")
    return connect(settings.redis_url, settings.redis_timeout)
