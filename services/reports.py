"""What dispatch centres read about published notices: the compliance report, the archive, the
preview of a notice awaiting review, and the delivery of every published notice."""

from datetime import UTC, datetime

import msgspec
from arq.connections import ArqRedis

from publishers.channel import Channel
from schemas.compliance import (
    ComplianceReport,
    NoticeRow,
    compliance_report,
    notice_rows,
    with_calls,
    with_channels,
    with_delivery,
    with_follow_up,
)
from schemas.deliveries import DeliveryReport, NoticeDelivery, NoticePreview, SmsPreview, delivery_counts
from schemas.keys import ApiKey
from schemas.notices import ORIGINAL_NOTICE, notice_of
from schemas.outage import Outage
from schemas.sms import sms_size
from schemas.wording import LANGUAGES
from schemas.workflow import preview_notice, review_version
from services.delivery import Fanout
from services.outages import OutageService
from store.dispatch import DispatchLedger
from store.followups import FollowUpStore
from store.ledger import DeliveryLedger
from store.voice import VoiceStore


class ArchivedNotice(msgspec.Struct, kw_only=True):
    outage_id: str
    notice: str
    event: str
    kind: str
    published_at: datetime
    approvers: list[str]
    channels: dict[str, str]
    recipients: int
    # The SMS text per language, as the templates render it.
    content: dict[str, str]


class ReportService:
    def __init__(self, outages: OutageService, redis: ArqRedis, channels: list[Channel]) -> None:
        self.outages = outages
        self.settings = outages.settings
        self.redis = redis
        # The SMS channel is the one every customer has: its text is the archived content, its
        # reach the preview's.
        self.sms = next(c for c in channels if c.name == "sms")
        self.sms_texts = self.sms.texts
        self.ledger = DeliveryLedger(redis, "sms")
        self.ledgers = {c.name: DeliveryLedger(redis, c.name) for c in channels}
        self.dispatch = DispatchLedger(redis)
        self.follow_ups = FollowUpStore(redis)
        self.voice = VoiceStore(redis)

    async def _published_in(
        self, caller: ApiKey, period_from: datetime, period_to: datetime
    ) -> list[tuple[Outage, NoticeRow]]:
        """The notices published in the period (read through the publication index, not a scan)."""
        return [
            (outage, row)
            for outage in await self.outages.published_between(caller, period_from, period_to)
            for row in notice_rows(outage, self.settings.lead_times)
            if period_from <= row.published_at <= period_to
        ]

    async def compliance(
        self, caller: ApiKey, period_from: datetime, period_to: datetime
    ) -> ComplianceReport:
        rows = []
        for outage, row in await self._published_in(caller, period_from, period_to):
            counts = await self.ledger.counts(outage.id, row.notice)
            row = with_delivery(row, counts, self.settings.delivery_threshold)
            if row.notice == ORIGINAL_NOTICE:
                survey = await self.follow_ups.counts(outage.id, row.notice)
                row = with_follow_up(row, outage.reports, survey, self.settings.survey_threshold)
            row = with_channels(
                row,
                {name: await ledger.counts(outage.id, row.notice) for name, ledger in self.ledgers.items()},
            )
            confirmations = await self.voice.confirmations(outage.id, row.notice)
            if confirmations or "voice" in self.ledgers:
                calls = (
                    await self.ledgers["voice"].counts(outage.id, row.notice)
                    if "voice" in self.ledgers
                    else {}
                )
                moments = [datetime.fromtimestamp(t, UTC) for t in confirmations.values()]
                row = with_calls(row, calls, moments)
            rows.append(row)
        return compliance_report(
            caller.region, period_from, period_to, rows, self.settings.delivery_threshold
        )

    async def archive(
        self, caller: ApiKey, period_from: datetime, period_to: datetime
    ) -> list[ArchivedNotice]:
        archived = []
        for outage, row in await self._published_in(caller, period_from, period_to):
            notice = notice_of(outage, row.notice)
            archived.append(
                ArchivedNotice(
                    outage_id=outage.id,
                    notice=row.notice,
                    event=row.event.value,
                    kind=outage.kind.value,
                    published_at=row.published_at,
                    approvers=row.approvers,
                    channels=await self.dispatch.handed_over(outage.id, row.notice),
                    recipients=(await self.ledger.counts(outage.id, row.notice)).get("recipients", 0),
                    content={lang: self.sms_texts.render(notice, None, lang) for lang in LANGUAGES},
                )
            )
        return sorted(archived, key=lambda a: a.published_at)

    async def preview(self, outage_id: str, caller: ApiKey) -> NoticePreview:
        """The notice approving now would publish: its texts, whom it reaches, the version read."""
        outage = await self.outages.get(outage_id, caller)
        notice = preview_notice(outage, self.outages.clock())
        reach = await Fanout(self.redis, self.settings, self.outages.clock, self.sms).preview_reach(notice)
        texts = []
        for language in LANGUAGES:
            text = self.sms_texts.render(notice, None, language)
            size = sms_size(text)
            texts.append(SmsPreview(language, text, len(text), size.encoding, size.segments))
        return NoticePreview(
            outage_id=outage.id,
            notice=notice.id,
            event=notice.event.value,
            version=review_version(outage),
            recipients=reach.recipients,
            opted_out=reach.opted_out,
            reachable=reach.reachable,
            messages=reach.messages,
            sms=texts,
        )

    async def deliveries(self, outage_id: str, caller: ApiKey) -> DeliveryReport:
        outage = await self.outages.get(outage_id, caller)
        notice_ids = [ORIGINAL_NOTICE] if outage.published_at else []
        notice_ids += [c.id for c in outage.changes if c.published_at is not None]
        report = []
        for notice_id in notice_ids:
            notice = notice_of(outage, notice_id)
            channels = {
                name: delivery_counts(await ledger.counts(outage.id, notice_id))
                for name, ledger in self.ledgers.items()
            }
            report.append(
                NoticeDelivery(
                    notice=notice_id,
                    event=notice.event.value,
                    published_at=notice.published_at,
                    handed_over=await self.dispatch.handed_over(outage.id, notice_id),
                    sms=channels["sms"],
                    channels=channels,
                )
            )
        return DeliveryReport(outage_id=outage.id, notices=report)
