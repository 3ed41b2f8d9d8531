"""Dispatch API for customers' fault reports: agents file them; a region's dispatch centre works
its repair queue and confirms or dismisses suspected outages."""

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, FromQuery

from api.outages import with_version
from api.strict_body import strictly
from schemas.fault_reports import (
    RepairOrder,
    RepairResolution,
    RepairStatus,
    ReportChannel,
    ReportSubmission,
    SuspectConfirmation,
    SuspectDismissal,
    SuspectedOutage,
    SuspectStatus,
)
from schemas.keys import ApiKey
from schemas.outage import Outage
from services.fault_reports import FaultReportService, ReportReceipt

SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]

NO_POWER = Example(
    summary="A customer calls 95598: no power",
    value={"account": "3101150000001", "symptom": "no_power", "description": "整栋楼没电"},
)
HAZARD = Example(
    summary="Wires down (urgent)",
    value={"phone": "+8613800138001", "symptom": "hazard", "description": "电线掉落在小区门口"},
)


class FaultReportController(Controller):
    path = "/api/v1/reports"
    tags = ["fault reports"]
    security = SECURITY

    @post(
        "/",
        summary="File a customer's fault report (agent role)",
        description=(
            "Identifies the customer by account, or by a phone registered on exactly one account. If a "
            "published outage covers them (their feeder, area, or their own account's stoppage) the "
            "answer says so (`explanation`, in `language`) and the report is counted on it; otherwise "
            "a repair order is opened in the region's queue (`repair_id`), urgent for hazards and "
            "important customers. 422 names the field when the customer cannot be identified."
        ),
        status_code=201,
    )
    async def file(
        self,
        data: Annotated[ReportSubmission, Body(examples=[NO_POWER, HAZARD])],
        caller: NamedDependency[ApiKey],
        fault_reports: NamedDependency[FaultReportService],
        request: Request[Any, Any, Any],
        language: FromQuery[str] = "zh-CN",
    ) -> ReportReceipt:
        submission = await strictly(request, data)
        return await fault_reports.report(
            submission, ReportChannel.AGENT, agent=caller, language="en" if language == "en" else "zh-CN"
        )


class RepairController(Controller):
    path = "/api/v1/repairs"
    tags = ["fault reports"]
    security = SECURITY

    @get(
        "/",
        summary="The region's repair orders: after-restoration first, then urgent, then oldest",
        description=(
            "accept_overdue marks an order the dispatch centre did not accept within 3 minutes of "
            "dispatch (the 95598 repair rule); covered_by names an account's own published stoppage "
            "the reporter could not be told of."
        ),
    )
    async def queue(
        self,
        caller: NamedDependency[ApiKey],
        fault_reports: NamedDependency[FaultReportService],
        status: FromQuery[RepairStatus | None] = None,
    ) -> list[RepairOrder]:
        return await fault_reports.repair_queue(caller, status)

    @get("/{repair_id:str}", summary="One repair order")
    async def read(
        self,
        repair_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        fault_reports: NamedDependency[FaultReportService],
    ) -> RepairOrder:
        return await fault_reports.repair(repair_id, caller)

    @post("/{repair_id:str}/accept", summary="The dispatch centre takes the order", status_code=200)
    async def accept(
        self,
        repair_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        fault_reports: NamedDependency[FaultReportService],
    ) -> RepairOrder:
        return await fault_reports.accept(repair_id, caller)

    @post("/{repair_id:str}/resolve", summary="The repair is done (or found not needed)", status_code=200)
    async def resolve(
        self,
        repair_id: FromPath[str],
        data: Annotated[
            RepairResolution, Body(examples=[Example(value={"resolution": "更换熔断器，已复电"})])
        ],
        caller: NamedDependency[ApiKey],
        fault_reports: NamedDependency[FaultReportService],
        request: Request[Any, Any, Any],
    ) -> RepairOrder:
        body = await strictly(request, data)
        return await fault_reports.resolve(repair_id, body.resolution, caller)


class SuspectedOutageController(Controller):
    path = "/api/v1/suspected-outages"
    tags = ["fault reports"]
    security = SECURITY

    @get(
        "/",
        summary="Suspected outages: unexplained reports grouped by transformer area and feeder",
        description=(
            "REPORT_GROUP_ACCOUNTS distinct accounts of one transformer area within REPORT_GROUP_WINDOW "
            "make one; reports from REPORT_FEEDER_AREAS areas of one feeder make a feeder one. Each has "
            "its counts, the share of the scope's customers who reported, and a fault draft."
        ),
    )
    async def list_suspects(
        self,
        caller: NamedDependency[ApiKey],
        fault_reports: NamedDependency[FaultReportService],
        status: FromQuery[SuspectStatus | None] = None,
    ) -> list[SuspectedOutage]:
        return await fault_reports.suspects(caller, status)

    @get("/{suspect_id:str}", summary="One suspected outage")
    async def read(
        self,
        suspect_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        fault_reports: NamedDependency[FaultReportService],
    ) -> SuspectedOutage:
        return await fault_reports.suspect(suspect_id, caller)

    @post(
        "/{suspect_id:str}/confirm",
        summary="Confirm: the draft becomes a fault record awaiting review (submitter role)",
        description="fault_located_at is the dispatch centre's; the 20-minute publication clock runs from it.",
        status_code=201,
    )
    async def confirm(
        self,
        suspect_id: FromPath[str],
        data: Annotated[
            SuspectConfirmation,
            Body(examples=[Example(value={"fault_located_at": "2026-11-25T10:05:00+08:00"})]),
        ],
        caller: NamedDependency[ApiKey],
        fault_reports: NamedDependency[FaultReportService],
        request: Request[Any, Any, Any],
    ) -> Response[Outage]:
        body = await strictly(request, data)
        _, outage = await fault_reports.confirm(suspect_id, body, caller)
        return with_version(outage, 201)

    @post("/{suspect_id:str}/dismiss", summary="Dismiss: not an outage", status_code=200)
    async def dismiss(
        self,
        suspect_id: FromPath[str],
        data: Annotated[SuspectDismissal, Body(examples=[Example(value={"reason": "单户表计故障，非停电"})])],
        caller: NamedDependency[ApiKey],
        fault_reports: NamedDependency[FaultReportService],
        request: Request[Any, Any, Any],
    ) -> SuspectedOutage:
        body = await strictly(request, data)
        return await fault_reports.dismiss(suspect_id, body.reason, caller)
