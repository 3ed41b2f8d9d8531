"""The dispatch centre's storm view (a region's keys): the public figures with exact counts, and
what the public does not see."""

from litestar import Controller, get
from litestar.di import NamedDependency

from api.outages import SECURITY
from schemas.clock import Clock
from schemas.keys import ApiKey
from schemas.storm import DispatchStorm
from services.storm import DispatchStormService


class DispatchStormController(Controller):
    path = "/api/v1/dispatch/storm"
    tags = ["storm"]
    security = SECURITY

    @get(
        "/",
        summary="The region's storm view for its dispatch centre",
        description=(
            "The public summary of the caller's region with exact counts; faults awaiting review past "
            "(and within) their 20 minutes after location; published outages past their expected "
            "restoration; open repair orders (and those not accepted within 3 minutes); open suspected "
            "outages; and per notice of each outage in progress how many of its SMS recipients it has "
            "reached, least reached first. Any dispatch role (submitter, reviewer, emergency)."
        ),
    )
    async def view(
        self,
        caller: NamedDependency[ApiKey],
        dispatch_storm: NamedDependency[DispatchStormService],
        clock: NamedDependency[Clock],
    ) -> DispatchStorm:
        return await dispatch_storm.view(caller, clock())
