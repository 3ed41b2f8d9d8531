"""Customer counts for the storm view, from the audiences resolved at publication: how many
distinct customers a group of outages reaches (a customer in two outages counts once)."""

import secrets
from collections.abc import Mapping, Sequence

from redis.asyncio import Redis

from store import keys


class StormCounts:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def distinct(self, groups: Mapping[str, Sequence[str]]) -> dict[str, int]:
        """For each named group of outage ids, how many distinct customers their audiences hold."""
        names = list(groups)
        if not names:
            return {}
        token = secrets.token_hex(8)
        async with self.redis.pipeline(transaction=False) as pipe:
            for n, name in enumerate(names):
                ids = groups[name]
                if ids:
                    scratch = keys.scratch(f"storm:{token}:{n}")
                    pipe.sunionstore(scratch, [keys.audience(i) for i in ids])
                    pipe.delete(scratch)
            results = await pipe.execute()
        sizes = iter(results[0::2])
        return {name: (int(next(sizes)) if groups[name] else 0) for name in names}

    async def restored_not_out(self, restored: Sequence[str], out: Sequence[str]) -> int:
        """Customers of the `restored` outages who are not in any of the `out` ones."""
        if not restored:
            return 0
        token = secrets.token_hex(8)
        was, now_out, back = (keys.scratch(f"storm:{token}:{name}") for name in ("was", "out", "back"))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sunionstore(was, [keys.audience(i) for i in restored])
            if out:
                pipe.sunionstore(now_out, [keys.audience(i) for i in out])
            pipe.sdiffstore(back, [was, now_out])
            # Working sets for the length of this pipeline only.
            pipe.delete(was, now_out, back)
            results = await pipe.execute()
        return int(results[2 if out else 1])
