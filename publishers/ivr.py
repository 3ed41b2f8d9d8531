"""The IVR channel: keeps the phone menu's index current at every publication and change."""

from redis.asyncio import Redis

from publishers.base import TAKEN, HandOver
from schemas.ivr import IvrOutage
from schemas.kinds import ACCOUNT_KINDS, Status
from schemas.notices import Notice
from store.ivr import IvrIndex


class IvrPublisher:
    def __init__(self, redis: Redis) -> None:
        self.index = IvrIndex(redis)

    @property
    def channel(self) -> str:
        return "ivr"

    async def publish(self, notice: Notice) -> HandOver:
        outage = notice.outage
        private = outage.kind in ACCOUNT_KINDS
        await self.index.save(
            IvrOutage(
                id=outage.id,
                region=outage.region,
                kind=outage.kind,
                reason=outage.reason,
                area_description=outage.area_description,
                starts_at=outage.starts_at,
                ends_at=outage.ends_at,
                restored_at=outage.restored_at,
                cancelled=outage.status is Status.CANCELLED,
            ),
            # Arrears, theft and violation are indexed by account only: told to that account's number.
            feeders=[] if private else outage.scope.feeders,
            areas=[] if private else outage.scope.transformer_areas,
            accounts=outage.scope.accounts,
        )
        return TAKEN
