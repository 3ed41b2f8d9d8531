"""What a notice would say before approval, and how its delivery went after."""

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from schemas.deliveries import DeliveryReport, NoticePreview
from schemas.keys import ApiKey
from services.reports import ReportService


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
        reports: NamedDependency[ReportService],
    ) -> Response[NoticePreview]:
        preview = await reports.preview(outage_id, caller)
        return Response(preview, headers={"ETag": f'"{preview.version}"'})

    @get("/deliveries", summary="Delivery of every published notice of the outage, per channel and status")
    async def deliveries(
        self,
        outage_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        reports: NamedDependency[ReportService],
    ) -> DeliveryReport:
        return await reports.deliveries(outage_id, caller)
