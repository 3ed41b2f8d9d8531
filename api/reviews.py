"""The review queue of a region, most urgent first."""

from litestar import Controller, get
from litestar.di import NamedDependency

from api.service import OutageService
from schemas.keys import ApiKey
from schemas.reviews import ReviewItem, review_item


class ReviewController(Controller):
    path = "/api/v1/reviews"
    tags = ["reviews"]
    security = [{"bearer": []}]

    @get(
        "/",
        summary="Notices awaiting review, sorted by publication deadline",
        description="For a fault, fault_minutes_left is what remains of its 20 minutes (negative: late).",
    )
    async def queue(
        self, caller: NamedDependency[ApiKey], outages: NamedDependency[OutageService]
    ) -> list[ReviewItem]:
        now = outages.clock()
        items = [
            review_item(o, now, outages.settings.lead_times) for o in await outages.awaiting_review(caller)
        ]
        return sorted(items, key=lambda item: item.deadline)
