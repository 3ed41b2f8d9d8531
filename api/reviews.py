"""The review queue of a region, most urgent first."""

from litestar import Controller, get
from litestar.di import NamedDependency

from schemas.keys import ApiKey
from schemas.reviews import ReviewItem
from services.outages import OutageService


class ReviewController(Controller):
    path = "/api/v1/reviews"
    tags = ["reviews"]
    security = [{"bearer": []}]

    @get(
        "/",
        summary="Notices awaiting review, sorted by publication deadline",
        description=(
            "For a fault, fault_minutes_left is what remains of its 20 minutes (negative: late) and "
            "urgent marks 5 minutes or less. Items with overdue=true are published outages past their "
            "expected restoration and not marked restored."
        ),
    )
    async def queue(
        self, caller: NamedDependency[ApiKey], outages: NamedDependency[OutageService]
    ) -> list[ReviewItem]:
        return await outages.review_queue(caller)
