"""Questions asked after a notice (restoration checks, surveys), their answers and counts."""

from datetime import timedelta

import msgspec
from redis.asyncio import Redis

from schemas.followups import COMMENTS_KEPT, PendingQuestion, SurveyCounts
from store import keys

_encode = msgspec.msgpack.Encoder().encode
_question = msgspec.msgpack.Decoder(PendingQuestion)


class FollowUpStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def ask(self, phone: str, question: PendingQuestion, ttl: timedelta) -> None:
        await self.redis.set(keys.pending_question(phone), _encode(question), ex=ttl)

    async def pending(self, phone: str) -> PendingQuestion | None:
        raw = await self.redis.get(keys.pending_question(phone))
        return None if raw is None else _question.decode(raw)

    async def answered(self, phone: str, question: PendingQuestion) -> bool:
        """Take the question off the phone: True for exactly one of several replies racing."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(keys.pending_question(phone))
            pipe.delete(keys.pending_question(phone))
            raw, _ = await pipe.execute()
        return raw is not None and _question.decode(raw) == question

    async def first_time(self, kind: str, outage_id: str) -> bool:
        """True once per kind and outage: a re-published record does not ask again."""
        return bool(
            await self.redis.set(keys.follow_up_done(kind, outage_id), "1", nx=True, ex=timedelta(days=90))
        )

    async def claim_survey(self, account: str, gap: timedelta) -> bool:
        """True if the account may be surveyed now (and is then spared for `gap`)."""
        return bool(await self.redis.set(keys.surveyed(account), "1", nx=True, ex=gap))

    async def sample(self, outage_id: str, count: int) -> list[str]:
        """Up to `count` distinct random accounts of the outage's audience."""
        if count <= 0:
            return []
        return sorted(m.decode() for m in await self.redis.srandmember(keys.audience(outage_id), count))

    async def audience_size(self, outage_id: str) -> int:
        return int(await self.redis.scard(keys.audience(outage_id)))

    async def reporters(self, outage_id: str) -> list[str]:
        return sorted(m.decode() for m in await self.redis.smembers(keys.outage_reporters(outage_id)))

    async def count(self, outage_id: str, notice_id: str, field: str, comment: str = "") -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(keys.survey_counts(outage_id, notice_id), field, 1)
            if comment:
                pipe.lpush(keys.survey_comments(outage_id, notice_id), comment)
                pipe.ltrim(keys.survey_comments(outage_id, notice_id), 0, COMMENTS_KEPT - 1)
            await pipe.execute()

    async def counts(self, outage_id: str, notice_id: str) -> SurveyCounts:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.survey_counts(outage_id, notice_id))
            pipe.lrange(keys.survey_comments(outage_id, notice_id), 0, -1)
            raw, comments = await pipe.execute()
        found = {k.decode(): int(v) for k, v in raw.items()}
        return SurveyCounts(
            sampled=found.get("sampled", 0),
            answered=found.get("answered", 0),
            in_time=found.get("in_time", 0),
            not_in_time=found.get("not_in_time", 0),
            comments=[c.decode() for c in comments],
        )
