"""A write answered 201/200 must survive the loss of the primary: with REDIS_MIN_REPLICAS set, the
answer waits until that many replicas have every write so far, else NotReplicated (503)."""

from redis.asyncio import Redis

from schemas.errors import NotReplicated
from schemas.settings import Settings
from store.replication import replicas_having_writes


async def acknowledged(redis: Redis, settings: Settings) -> None:
    wanted = settings.redis_min_replicas
    if wanted <= 0:
        return
    timeout_ms = int(settings.redis_replica_timeout * 1000)
    having = await replicas_having_writes(redis, wanted, timeout_ms)
    if having < wanted:
        raise NotReplicated(
            f"written on the primary but only {having} of {wanted} replica(s) have it after "
            f"{timeout_ms} ms: not acknowledged; sending the same request again is safe",
            rule="replicated",
            replicas=having,
        )
