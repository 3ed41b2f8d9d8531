"""Thirty days of past notices for the demo's compliance report: faults (some published late) and
planned outages, each restored. Scoped to feeders without customers: history sends no SMS."""

import random
from datetime import datetime, timedelta

from arq.connections import ArqRedis

from schemas.keys import ApiKey
from schemas.kinds import ChangeType, OutageKind
from schemas.outage import ChangeRequest, OutageSubmission, Scope
from schemas.settings import Settings
from services.outages import OutageService

DAYS = 30


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def load_history(
    settings: Settings, redis: ArqRedis, now: datetime, submitter: ApiKey, reviewer: ApiKey, region: str
) -> int:
    rng = random.Random(20)
    clock = _Clock(now)
    service = OutageService(settings, redis, clock)
    published = 0
    for day in range(DAYS, 0, -1):
        for n in range(rng.choice((1, 2, 2, 3))):
            located = (now - timedelta(days=day)).replace(hour=rng.randrange(6, 22), minute=rng.randrange(60))
            # Most reviews take minutes; now and then one takes too long (the breaches to chart).
            delay = rng.uniform(4, 19) if rng.random() > 0.15 else rng.uniform(21, 48)
            clock.now = located + timedelta(minutes=1)
            outage, _ = await service.submit(
                OutageSubmission(
                    external_id=f"HIST-F-{day}-{n}", kind=OutageKind.FAULT, title=f"10千伏线路故障（{day}天前）",
                    reason=rng.choice(("雷击", "树障", "外力破坏", "设备老化")), region=region,
                    area_description="张江镇（历史记录）", scope=Scope(feeders=[f"HIST-{day}-{n}"]),
                    starts_at=located - timedelta(minutes=rng.randrange(5, 30)), fault_located_at=located,
                ),
                submitter,
            )  # fmt: skip
            clock.now = located + timedelta(minutes=delay)
            await service.approve_current(outage.id, reviewer)
            clock.now = located + timedelta(hours=rng.uniform(1.5, 3.5))
            restored = ChangeRequest(type=ChangeType.RESTORED, reason="抢修完成", restored_at=clock.now)
            await service.change(outage.id, restored, submitter)
            clock.now += timedelta(minutes=rng.uniform(2, 10))
            await service.approve_current(outage.id, reviewer)
            published += 1
        if day % 6 == 0:
            starts = (now - timedelta(days=day)).replace(hour=8, minute=0, second=0, microsecond=0)
            clock.now = starts - timedelta(days=rng.uniform(8.5, 10))
            outage, _ = await service.submit(
                OutageSubmission(
                    external_id=f"HIST-P-{day}", kind=OutageKind.PLANNED, title="配网计划检修（历史记录）",
                    reason="设备检修", region=region, area_description="张江镇（历史记录）",
                    scope=Scope(feeders=[f"HIST-P-{day}"]), starts_at=starts, ends_at=starts + timedelta(hours=8),
                ),
                submitter,
            )  # fmt: skip
            clock.now += timedelta(hours=rng.uniform(1, 20))
            await service.approve_current(outage.id, reviewer)
            clock.now = starts + timedelta(hours=7, minutes=rng.randrange(60))
            await service.change(
                outage.id, ChangeRequest(type=ChangeType.RESTORED, reason="检修完成"), submitter
            )
            await service.approve_current(outage.id, reviewer)
            published += 1
    return published
