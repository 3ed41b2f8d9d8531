"""A write answered 201/200 must survive the loss of the primary: with REDIS_MIN_REPLICAS set, the
answer waits until that many replicas have every write so far, else NotReplicated (503)."""

from redis.asyncio import Redis

from schemas.errors import NotReplicated
from schemas.settings import Settings
from store.replication import replicas_having_writes


async def replicas_short(redis: Redis, settings: Settings) -> int:
    """How many of the REDIS_MIN_REPLICAS replicas lack the writes so far (0: all have them)."""
    wanted = settings.redis_min_replicas
    if wanted <= 0:
        return 0
    having = await replicas_having_writes(redis, wanted, int(settings.redis_replica_timeout * 1000))
    return max(0, wanted - having)


async def acknowledged(redis: Redis, settings: Settings) -> None:
    short = await replicas_short(redis, settings)
    if short:
        wanted = settings.redis_min_replicas
        having = wanted - short
        timeout_ms = int(settings.redis_replica_timeout * 1000)
        raise NotReplicated(
            f"written on the primary but only {having} of {wanted} replica(s) have it after "
            f"{timeout_ms} ms: not acknowledged; sending the same request again is safe",
            rule="replicated",
            replicas=having,
        )
