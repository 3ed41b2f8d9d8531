"""Acknowledged writes on replicas: WAIT after a probe write on one connection. WAIT counts the
writes of the connection it runs on; the replication stream is in order, so a replica that has
the probe has every write any client made before it."""

from redis.asyncio import Redis

from store import keys


async def replicas_having_writes(redis: Redis, replicas: int, timeout_ms: int) -> int:
    """How many replicas (waiting for `replicas` at most `timeout_ms`) have every write so far."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(keys.replication_probe())
        pipe.execute_command("WAIT", replicas, timeout_ms)
        _, acknowledged = await pipe.execute()
    return int(acknowledged)
