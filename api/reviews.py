"""The review queue of a region, most urgent first."""

from litestar import Controller, get
from litestar.di import NamedDependency

from api.service import OutageService
from schemas.keys import ApiKey
from schemas.reviews import ReviewItem, overdue_item, review_item
from schemas.timeline import is_overdue
from store.timeline import Timeline


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
        now = outages.clock()
        items = [
            review_item(o, now, outages.settings.lead_times) for o in await outages.awaiting_review(caller)
        ]
        for outage_id in await Timeline(outages.redis).overdue(caller.region):
            outage = await outages.store.get(outage_id)
            if is_overdue(outage, now):
                items.append(overdue_item(outage, now))
        return sorted(items, key=lambda item: item.deadline)
