"""Commands that many coroutines issue in the same turn of the event loop go to Redis in one
pipeline: a fan-out's concurrent sends each claim and record on their own, as the delivery
ledger's rules need, while Redis sees one round trip (and, with replicas, one WAIT) per turn
instead of one per message."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

# Queues exactly one command on the pipeline (a registered script's call with client=pipe is
# a coroutine that queues EVALSHA).
Command = Callable[[Pipeline], Awaitable[object]]
T = TypeVar("T")


class Coalescer:
    def __init__(self, redis: Redis, *, replicas: int = 0, replica_timeout_ms: int = 0) -> None:
        """`replicas`: each flush ends with WAIT for that many; every caller gets its command's
        result and how many replicas had it."""
        self.redis = redis
        self.replicas = replicas
        self.replica_timeout_ms = replica_timeout_ms
        self._pending: list[tuple[Command, asyncio.Future[tuple[Any, int]]]] = []
        self._flushes: set[asyncio.Task[None]] = set()
        # Round trips made (for tests and benchmarks).
        self.round_trips = 0

    async def call(self, command: Command) -> tuple[Any, int]:
        """(the command's result, replicas that have it: `replicas` when none are asked for)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, int]] = loop.create_future()
        self._pending.append((command, future))
        if len(self._pending) == 1:
            # After the other coroutines ready in this turn have queued theirs.
            loop.call_soon(self._start_flush)
        return await future

    def _start_flush(self) -> None:
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self.round_trips += 1
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for command, _ in batch:
                    await command(pipe)
                if self.replicas:
                    pipe.execute_command("WAIT", self.replicas, self.replica_timeout_ms)
                results = await pipe.execute(raise_on_error=False)
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        having = self.replicas
        if self.replicas:
            acknowledged = results.pop()
            having = 0 if isinstance(acknowledged, Exception) else int(acknowledged)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result((result, having))


class SharedRead(Generic[T]):
    """One read for the callers that ask while another read is under way: under load a public
    route's version costs one round trip per batch of requests, not one per request. A caller only
    ever gets a value read after it asked (it joins the next read, never the one in flight), so a
    request sees every write acknowledged before it arrived."""

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._next: asyncio.Future[T] | None = None
        self._reading: asyncio.Task[None] | None = None
        # Reads made (for tests and benchmarks).
        self.reads = 0

    async def get(self) -> T:
        future = self._next
        if future is None:
            future = self._next = asyncio.get_running_loop().create_future()
            if self._reading is None:
                self._start()
        # A caller that goes away stops waiting; the read the others wait for goes on.
        return await asyncio.shield(future)

    def _start(self) -> None:
        future, self._next = self._next, None
        assert future is not None
        self._reading = asyncio.get_running_loop().create_task(self._run(future))

    async def _run(self, future: "asyncio.Future[T]") -> None:
        self.reads += 1
        try:
            value = await self._read()
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
                # Retrieved here, so a read nobody waits for any more is not reported as lost.
                future.exception()
            if not isinstance(exc, Exception):
                raise
        else:
            if not future.done():
                future.set_result(value)
        finally:
            self._reading = None
            if self._next is not None:
                self._start()
