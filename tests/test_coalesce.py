"""Commands from many coroutines in one turn of the event loop: one round trip, each its own answer."""

import asyncio

from arq.connections import ArqRedis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from store.coalesce import Coalescer


async def test_concurrent_commands_share_one_round_trip_and_each_gets_its_own_result(redis: ArqRedis) -> None:
    coalescer = Coalescer(redis)
    await redis.set("coalesce:text", "not a number")

    async def incr(n: int) -> object:
        result, _ = await coalescer.call(lambda pipe: pipe.incrby("coalesce:counter", n))
        return result

    async def wrong() -> object:
        return await coalescer.call(lambda pipe: pipe.incr("coalesce:text"))

    results = await asyncio.gather(*(incr(1) for _ in range(50)), wrong(), return_exceptions=True)
    assert sorted(r for r in results[:50] if isinstance(r, int)) == list(range(1, 51))
    assert isinstance(results[50], ResponseError), "one command's error is that command's alone"
    assert coalescer.round_trips == 1
    # The next turn's commands make the next round trip.
    assert (await coalescer.call(lambda pipe: pipe.get("coalesce:counter")))[0] == b"50"
    assert coalescer.round_trips == 2


async def test_with_replicas_asked_for_every_caller_learns_how_many_had_its_write(redis: ArqRedis) -> None:
    # No replica is attached: WAIT answers 0 after its timeout, and every caller hears it.
    coalescer = Coalescer(redis, replicas=1, replica_timeout_ms=50)
    answers = await asyncio.gather(*(coalescer.call(lambda pipe: pipe.incr("coalesce:w")) for _ in range(5)))
    assert [having for _, having in answers] == [0] * 5
    assert coalescer.round_trips == 1


async def test_a_lost_connection_fails_every_caller_of_that_round_trip(redis: ArqRedis) -> None:
    from redis.asyncio import Redis

    gone = Redis(port=1, socket_connect_timeout=0.2)
    coalescer = Coalescer(gone)
    results = await asyncio.gather(
        *(coalescer.call(lambda pipe: pipe.incr("x")) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RedisConnectionError) for r in results), results
    await gone.aclose()
