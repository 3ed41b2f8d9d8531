"""The one way this service connects to Redis/Valkey: with a time limit on every call.

A stalled server (SIGSTOP, a network that drops packets) would otherwise hold a request for as
long as the kernel keeps the connection (45 s and more): with a limit the call fails, the API
answers 503 with Retry-After, and the next call after the server is back succeeds.
"""

import asyncio
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import TimeoutError as RedisTimeoutError


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
