"""The dispatcher's page of customers' fault reports: open suspected outages (confirm, dismiss) and
the repair queue (accept, resolve), live. The browser signs in with the API key (Basic)."""

from litestar import get
from litestar.di import NamedDependency
from litestar.response import ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from api.web import Query, live_stream
from schemas.fault_reports import RepairStatus, SuspectStatus
from schemas.keys import ApiKey
from schemas.public import WebEvent
from schemas.settings import Settings
from services.fault_reports import FaultReportService
from services.live import Broadcaster


@get("/dispatch/reports", include_in_schema=False)
async def dispatch_reports_page(
    caller: NamedDependency[ApiKey],
    fault_reports: NamedDependency[FaultReportService],
    settings: NamedDependency[Settings],
    partial: Query = None,
) -> Template:
    zone = settings.zone
    repairs = [o for o in await fault_reports.repair_queue(caller) if o.status is not RepairStatus.RESOLVED]
    suspects = await fault_reports.suspects(caller, SuspectStatus.OPEN)
    return Template(
        template_name="web/dispatch_queue.html" if partial else "web/dispatch_reports.html",
        context={
            "region": caller.region,
            "repairs": repairs,
            "suspects": suspects,
            "local": lambda moment: (
                "—" if moment is None else moment.astimezone(zone).strftime("%m-%d %H:%M:%S")
            ),
            "now_local": fault_reports.clock().astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            # The times typed are the deployment zone's, whatever the browser's own.
            "offset": fault_reports.clock().astimezone(zone).isoformat()[-6:],
        },
    )


@get("/dispatch/events", include_in_schema=False)
async def dispatch_events(
    caller: NamedDependency[ApiKey], broadcaster: NamedDependency[Broadcaster]
) -> ServerSentEvent:
    """The region's repair orders and suspected outages as they change (what changed, its id)."""

    def message(event: WebEvent) -> ServerSentEventMessage | None:
        # A resync (no region) concerns everyone; another region's items nobody here.
        if event.region and event.region != caller.region:
            return None
        return ServerSentEventMessage(data=event.outage_id, event=event.notice or "resync")

    return await live_stream(broadcaster, message, dispatch=True)
