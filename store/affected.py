"""Which outages concern an account, until when: what a STATUS reply tells."""

from collections.abc import Sequence
from datetime import datetime

from redis.asyncio import Redis

from store import keys


class AccountOutages:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def note_affected(self, accounts: Sequence[str], outage_id: str, until: datetime) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for account in accounts:
                pipe.zadd(keys.account_outages(account), {outage_id: until.timestamp()})
            await pipe.execute()

    async def outages_of_account(self, account: str, after: datetime) -> list[str]:
        ids = await self.redis.zrangebyscore(keys.account_outages(account), after.timestamp(), "+inf")
        return [i.decode() for i in ids]
