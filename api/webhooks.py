"""Partner webhooks over HTTP: a partner key registers, lists and deletes its webhooks."""

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath

from api.strict_body import strictly
from schemas.keys import ApiKey
from schemas.webhooks import Webhook, WebhookCreated, WebhookRequest
from services.webhooks import WebhookService


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]
    security = [{"bearer": []}]

    @post(
        "/",
        summary="Register a webhook for the key's region (partner role)",
        description=(
            "Each published notice of the region (public kinds; `kinds` narrows them) is POSTed as JSON "
            "(`outage.<event>` with the public view of the outage) or, with format=cap, its CAP 1.2 alert, "
            "signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature with the secret "
            "returned once here). A failed try is repeated after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h "
            "under the same webhook-id; then the webhook is disabled with the reason. URLs resolving to "
            "private, loopback or reserved addresses are refused (422 naming url)."
        ),
        status_code=201,
    )
    async def register(
        self,
        data: Annotated[
            WebhookRequest,
            Body(
                examples=[
                    Example(
                        value={"url": "https://emergency.example.gov.cn/hooks/outages", "kinds": ["fault"]}
                    )
                ]
            ),
        ],
        caller: NamedDependency[ApiKey],
        webhooks: NamedDependency[WebhookService],
        request: Request[Any, Any, Any],
    ) -> WebhookCreated:
        return await webhooks.register(await strictly(request, data), caller)

    @get("/", summary="This key's webhooks: enabled or why disabled, failures, the last error")
    async def list_webhooks(
        self, caller: NamedDependency[ApiKey], webhooks: NamedDependency[WebhookService]
    ) -> list[Webhook]:
        return await webhooks.of_caller(caller)

    @delete("/{webhook_id:str}", summary="Delete a webhook", status_code=204)
    async def remove(
        self,
        webhook_id: FromPath[str],
        caller: NamedDependency[ApiKey],
        webhooks: NamedDependency[WebhookService],
    ) -> None:
        await webhooks.delete(webhook_id, caller)
