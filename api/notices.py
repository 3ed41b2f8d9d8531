"""What a notice would say before approval, and how its delivery went after."""

from arq.connections import ArqRedis
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from redis.asyncio import Redis

from publishers.sms import SmsPublisher
from publishers.sms_text import LANGUAGES, SmsTexts
from schemas.deliveries import DeliveryReport, NoticeDelivery, NoticePreview, SmsPreview, sms_delivery
from schemas.keys import ApiKey
from schemas.notices import ORIGINAL_NOTICE, notice_of
from schemas.settings import Settings
from schemas.sms import sms_size
from schemas.workflow import preview_notice, review_version
from services.outages import OutageService
from store.dispatch import DispatchLedger
from store.sms import SmsLedger


class NoticeController(Controller):
    path = "/api/v1/outages/{outage_id:str}"
    tags = ["outages"]
    security = [{"bearer": []}]

    @get(
        "/preview",
        summary="The SMS texts and recipient count of the notice awaiting review",
        description=(
            "Per language: the text, its encoding and segment count; how many accounts the notice is "
            "owed to, how many of those opted out, how many are reachable and how many SMS that makes "
            "(accounts sharing a phone get one). The ETag is the version to approve (If-Match)."
        ),
    )
    async def preview(
        self,
        outage_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        outages: NamedDependency[OutageService],
        redis: NamedDependency[ArqRedis],
        sms_texts: NamedDependency[SmsTexts],
        settings: NamedDependency[Settings],
    ) -> Response[NoticePreview]:
        outage = await outages.get(outage_id, caller)
        notice = preview_notice(outage, outages.clock())
        reach = await SmsPublisher(redis, settings, outages.clock).preview_reach(notice)
        texts = []
        for language in LANGUAGES:
            text = sms_texts.render(notice, None, language)
            size = sms_size(text)
            texts.append(SmsPreview(language, text, len(text), size.encoding, size.segments))
        version = review_version(outage)
        preview = NoticePreview(
            outage_id=outage.id,
            notice=notice.id,
            event=notice.event.value,
            version=version,
            recipients=reach.recipients,
            opted_out=reach.opted_out,
            reachable=reach.reachable,
            messages=reach.messages,
            sms=texts,
        )
        return Response(preview, headers={"ETag": f'"{version}"'})

    @get("/deliveries", summary="Delivery of every published notice of the outage, per channel and status")
    async def deliveries(
        self,
        outage_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        outages: NamedDependency[OutageService],
        redis: NamedDependency[Redis],
    ) -> DeliveryReport:
        outage = await outages.get(outage_id, caller)
        ledger, dispatch = SmsLedger(redis), DispatchLedger(redis)
        notice_ids = [ORIGINAL_NOTICE] if outage.published_at else []
        notice_ids += [c.id for c in outage.changes if c.published_at is not None]
        report = []
        for notice_id in notice_ids:
            notice = notice_of(outage, notice_id)
            report.append(
                NoticeDelivery(
                    notice=notice_id,
                    event=notice.event.value,
                    published_at=notice.published_at,
                    handed_over=await dispatch.handed_over(outage.id, notice_id),
                    sms=sms_delivery(await ledger.counts(outage.id, notice_id)),
                )
            )
        return DeliveryReport(outage_id=outage.id, notices=report)
