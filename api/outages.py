"""Dispatch API: submit, read, revise, review and change outage records."""

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, FromQuery, HeaderParameter, QueryParameter

from api.examples import (
    ARREARS_STOPPAGE,
    CANCEL,
    DELAY_RESTORATION,
    FAULT_OUTAGE,
    PLANNED_OUTAGE,
    POSTPONE,
    REJECTION,
    RESTORED,
)
from api.query_times import RFC3339, query_time
from api.strict_body import strictly
from schemas.keys import ApiKey
from schemas.kinds import OutageKind, Status
from schemas.outage import (
    ApprovalRequest,
    ChangeRequest,
    HistoryEntry,
    Outage,
    OutagePage,
    OutageSubmission,
    Rejection,
)
from schemas.workflow import readable_region, review_version
from services.outages import OutageService

SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
# Beyond any region's records, and inside what Redis takes as an index (64-bit).
MAX_OFFSET = 1_000_000_000

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        description=(
            "The ETag of the record (GET /api/v1/outages/{id}) or of its preview, as the reviewer read "
            "it. Required here or as `revision` in the body: 412 if the record or its pending change has "
            "changed since, 428 if neither is sent."
        ),
        examples=[Example(value='"1"'), Example(value='"2.c1"')],
    ),
]


def versions_read(if_match: str | None, revision: str | None) -> list[str]:
    """The versions a reviewer says they read. `*` and weak tags never vouch for a version."""
    read = [revision] if revision else []
    for tag in (if_match or "").split(","):
        tag = tag.strip()
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            read.append(tag[1:-1])
        elif tag and tag != "*":
            read.append(tag)
    return read


def with_version(outage: Outage, status_code: int = 200) -> Response[Outage]:
    return Response(outage, status_code=status_code, headers={"ETag": f'"{review_version(outage)}"'})


class OutageController(Controller):
    path = "/api/v1/outages"
    tags = ["outages"]
    security = SECURITY

    @post(
        "/",
        summary="Submit an outage record",
        description=(
            "Creates the record in status pending_review (201). Re-sending the same external_id from "
            "the same centre returns the stored record (200). Lead times are checked now and again at "
            "approval; a refusal (422) names the rule, the deadline and the earliest compliant start."
        ),
        status_code=201,
    )
    async def submit(
        self,
        data: Annotated[OutageSubmission, Body(examples=[PLANNED_OUTAGE, FAULT_OUTAGE, ARREARS_STOPPAGE])],
        caller: NamedDependency[ApiKey],
        outages: NamedDependency[OutageService],
        request: Request[Any, Any, Any],
    ) -> Response[Outage]:
        outage, created = await outages.submit(await strictly(request, data), caller)
        return with_version(outage, 201 if created else 200)

    @get("/", summary="List the region's outage records, newest first")
    async def list_outages(
        self,
        caller: NamedDependency[ApiKey],
        outages: NamedDependency[OutageService],
        status: FromQuery[Status | None] = None,
        kind: FromQuery[OutageKind | None] = None,
        active_at: Annotated[
            str | None,
            QueryParameter(
                description=f"only records whose outage covers this instant; {RFC3339}", max_length=64
            ),
        ] = None,
        region: Annotated[str | None, QueryParameter(description="defaults to the key's region")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> OutagePage:
        readable_region(caller, region)
        if status is None and kind is None and active_at is None:
            # Unfiltered, the page is read straight off the region's index.
            items, total = await outages.page(caller, offset, limit)
            return OutagePage(items=items, total=total, limit=limit, offset=offset)
        found = await outages.search(
            caller, status=status, kind=kind, active_at=query_time(active_at, "active_at")
        )
        return OutagePage(items=found[offset : offset + limit], total=len(found), limit=limit, offset=offset)

    @get(
        "/{outage_id:str}",
        summary="One outage record",
        description=(
            "The ETag names the version under review (the revision, and the pending change if any); "
            "approve and reject send it back as If-Match."
        ),
    )
    async def read(
        self,
        outage_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        outages: NamedDependency[OutageService],
    ) -> Response[Outage]:
        return with_version(await outages.get(outage_id, caller))

    @put("/{outage_id:str}", summary="Revise a record awaiting review or rejected, and resubmit it")
    async def revise(
        self,
        outage_id: FromPath[str],
        data: Annotated[OutageSubmission, Body(examples=[PLANNED_OUTAGE])],
        caller: NamedDependency[ApiKey],
        outages: NamedDependency[OutageService],
        request: Request[Any, Any, Any],
    ) -> Response[Outage]:
        return with_version(await outages.revise(outage_id, await strictly(request, data), caller))

    @get("/{outage_id:str}/history", summary="Every transition of the record: who, role, when, what")
    async def history(
        self,
        outage_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        outages: NamedDependency[OutageService],
    ) -> list[HistoryEntry]:
        return await outages.history(outage_id, caller)

    @post(
        "/{outage_id:str}/approve",
        summary="Approve the notice awaiting review (the record or its pending change)",
        description=(
            "Needs the reviewer role and a key other than the submitter's. A large-area record also "
            "needs an emergency-role approval: it is published when both are recorded. Binds to the "
            "version the reviewer read: If-Match (or `revision` in the body) must name the current one."
        ),
        status_code=200,
    )
    async def approve(
        self,
        outage_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        outages: NamedDependency[OutageService],
        if_match: IfMatch = None,
        data: Annotated[ApprovalRequest | None, Body(examples=[Example(value={"revision": "1"})])] = None,
    ) -> Response[Outage]:
        read = versions_read(if_match, data.revision if data else None)
        return with_version(await outages.approve(outage_id, caller, read))

    @post(
        "/{outage_id:str}/reject",
        summary="Reject the notice awaiting review, with a reason",
        description="Binds to the version read, like approve: If-Match or `revision` in the body.",
        status_code=200,
    )
    async def reject(
        self,
        outage_id: FromPath[str],
        data: Annotated[Rejection, Body(examples=[REJECTION])],
        caller: NamedDependency[ApiKey],
        outages: NamedDependency[OutageService],
        if_match: IfMatch = None,
    ) -> Response[Outage]:
        read = versions_read(if_match, data.revision)
        return with_version(await outages.reject(outage_id, data.reason, caller, read))

    @post(
        "/{outage_id:str}/changes",
        summary="Submit a change of a published outage (postpone, cancel, delay restoration, restored)",
        description="A change is a notice of its own and is reviewed like the original.",
        status_code=201,
    )
    async def change(
        self,
        outage_id: FromPath[str],
        data: Annotated[ChangeRequest, Body(examples=[POSTPONE, CANCEL, DELAY_RESTORATION, RESTORED])],
        caller: NamedDependency[ApiKey],
        outages: NamedDependency[OutageService],
        request: Request[Any, Any, Any],
    ) -> Response[Outage]:
        return with_version(await outages.change(outage_id, await strictly(request, data), caller), 201)
