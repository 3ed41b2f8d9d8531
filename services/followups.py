"""After a notice: "power still out?" once an outage is restored, and the follow-up survey (回访)
of a sample of each notice's recipients; their replies by SMS."""

from datetime import datetime

from arq.connections import ArqRedis

from schemas.clock import Clock
from schemas.fault_reports import ReportChannel, ReportSubmission
from schemas.followups import (
    QUESTION_TTL,
    SURVEY_GAP,
    WORDS,
    PendingQuestion,
    Question,
    check_size,
    survey_size,
)
from schemas.notices import ORIGINAL_NOTICE
from schemas.outage import Outage
from schemas.settings import Settings
from services.fault_reports import FaultReportService
from services.jobs import enqueue_message
from store.customers import CustomerStore
from store.followups import FollowUpStore
from store.optouts import OptOuts

ANSWERS = {"1", "2", "１", "２"}


class FollowUpService:
    def __init__(
        self, settings: Settings, redis: ArqRedis, clock: Clock, fault_reports: FaultReportService
    ) -> None:
        self.settings = settings
        self.queue = redis
        self.clock = clock
        self.store = FollowUpStore(redis)
        self.customers = CustomerStore(redis)
        self.optouts = OptOuts(redis, "sms")
        self.fault_reports = fault_reports

    async def restoration_check(self, outage: Outage) -> int:
        """Ask the outage's reporters and a sample of its other recipients whether power is back."""
        if not await self.store.first_time(Question.RESTORATION_CHECK.value, outage.id):
            return 0
        s = self.settings
        reporters = await self.store.reporters(outage.id)
        others = max(0, await self.store.audience_size(outage.id) - len(reporters))
        wanted = check_size(others, s.restoration_check_share, s.restoration_check_max)
        sampled = [
            a for a in await self.store.sample(outage.id, wanted + len(reporters)) if a not in reporters
        ]
        accounts = reporters + sampled[:wanted]
        return await self._ask(outage, ORIGINAL_NOTICE, Question.RESTORATION_CHECK, accounts)

    async def survey(self, outage: Outage) -> int:
        """Survey a sample of the outage notice's recipients, sparing anyone surveyed in 30 days."""
        if not await self.store.first_time(Question.SURVEY.value, outage.id):
            return 0
        s = self.settings
        size = survey_size(
            await self.store.audience_size(outage.id), s.survey_share, s.survey_min, s.survey_max
        )
        # Drawn with room for those spared (surveyed lately, opted out): a small audience whole.
        drawn = await self.store.sample(outage.id, size * 4 + 100) if size else []
        candidates = [c for c in await self.customers.many(drawn) if c]
        opted = await self.optouts.opted_out([c.phone for c in candidates])
        chosen: list[str] = []
        for customer, opted_out in zip(candidates, opted, strict=True):
            if len(chosen) == size:
                break
            if not opted_out and await self.store.claim_survey(customer.account, SURVEY_GAP):
                chosen.append(customer.account)
        return await self._ask(outage, ORIGINAL_NOTICE, Question.SURVEY, chosen)

    async def _ask(self, outage: Outage, notice_id: str, kind: Question, accounts: list[str]) -> int:
        now = self.clock()
        asked = 0
        found = [c for c in await self.customers.many(accounts) if c is not None]
        # A number that opted out is not asked (nor counted as sampled).
        opted = await self.optouts.opted_out([c.phone for c in found])
        for customer, opted_out in zip(found, opted, strict=True):
            if opted_out:
                continue
            language = customer.language if customer.language in WORDS else "zh-CN"
            body = self._words(language, kind, outage)
            question = PendingQuestion(
                kind=kind,
                outage_id=outage.id,
                notice_id=notice_id,
                account=customer.account,
                language=language,
                asked_at=now,
            )
            await self.store.ask(customer.phone, question, QUESTION_TTL)
            if kind is Question.SURVEY:
                await self.store.count(outage.id, notice_id, "sampled")
            await enqueue_message(
                self.queue, self.settings.queue_name, customer.phone, body, language,
                kind.value, f"{outage.id}:{notice_id}:{customer.account}",
            )  # fmt: skip
            asked += 1
        return asked

    def _words(self, language: str, kind: Question | str, outage: Outage | None = None, **values: str) -> str:
        local: datetime | None = outage.starts_at.astimezone(self.settings.zone) if outage else None
        date = (
            ""
            if local is None
            else (f"{local.month}月{local.day}日" if language == "zh-CN" else f"{local:%d %b}")
        )
        return WORDS[language][kind].format(
            signature=self.settings.sms_signature if language == "zh-CN" else "",
            area=outage.area_description if outage else "",
            date=date,
            hotline=self.settings.hotline,
            **values,
        )

    async def answer(self, phone: str, body: str) -> str | None:
        """The reply to a text that answers the question the phone was last asked; None when
        it asked nothing (or this is no answer to it) and the text means what it usually does."""
        question = await self.store.pending(phone)
        if question is None:
            return None
        text = body.strip()
        if question.kind is Question.RESTORATION_CHECK:
            if text not in ANSWERS or not await self.store.answered(phone, question):
                return None
            if text in ("2", "２"):
                return self._words(question.language, "back_on")
            receipt = await self.fault_reports.report(
                ReportSubmission(account=question.account, description="still out after restoration"),
                ReportChannel.SMS,
                caller_phone=phone,
                language=question.language,
                after_restoration=True,
            )
            return self._words(question.language, "still_out", order=receipt.repair_id or "")
        if not text or not await self.store.answered(phone, question):
            return None
        if text in ("1", "１"):
            field, comment = "in_time", ""
        elif text in ("2", "２"):
            field, comment = "not_in_time", ""
        else:
            field, comment = "comment", text[:500]
        await self.store.count(question.outage_id, question.notice_id, "answered")
        await self.store.count(question.outage_id, question.notice_id, field, comment)
        return self._words(question.language, "thanks")
