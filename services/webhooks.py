"""Partner webhooks: a partner key registers a URL for its region's notices; each notice is POSTed,
signed per Standard Webhooks, retried with backoff for about a day under one id (receivers
dedupe), and the webhook is disabled, with the reason, when it keeps failing. Targets resolving
to private, loopback or reserved addresses are refused, at registration and at every send."""

import asyncio
import base64
import secrets
import socket
from datetime import UTC
from urllib.parse import urlsplit

import httpx
import msgspec
import structlog
from arq.connections import ArqRedis
from standardwebhooks.webhooks import Webhook as Signer

from publishers.base import TAKEN, HandOver
from publishers.templates import environment
from schemas.cap import cap_alert
from schemas.clock import Clock
from schemas.errors import NotFound, Unprocessable
from schemas.fault_reports import require_role
from schemas.keys import ApiKey
from schemas.kinds import Role
from schemas.notices import Notice, notice_of
from schemas.public import is_public, public_view
from schemas.settings import Settings
from schemas.webhooks import Webhook, WebhookCreated, WebhookRequest, retry_pause, target_problem
from store.outages import OutageStore
from store.webhooks import WebhookStore

log = structlog.get_logger("services.webhooks")
PARTNER_ROLES = frozenset({Role.PARTNER})
DELIVER_WEBHOOK_JOB = "deliver_webhook"


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """What one try did: delivered, or try again after `retry_after`, or given up (disabled)."""

    delivered: bool = False
    retry_after: float | None = None
    gave_up: str = ""


async def resolved(host: str) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


def message_id(outage_id: str, notice_id: str) -> str:
    """The same for every try of one notice to one webhook: receivers dedupe on it."""
    return f"msg_{outage_id}_{notice_id}"


class WebhookService:
    def __init__(self, settings: Settings, redis: ArqRedis, clock: Clock) -> None:
        self.settings = settings
        self.queue = redis
        self.clock = clock
        self.store = WebhookStore(redis)
        self.outages = OutageStore(redis)

    async def _problem(self, url: str) -> str | None:
        host = urlsplit(url).hostname or ""
        return target_problem(url, await resolved(host) if host else [], self.settings.webhook_allow_private)

    async def register(self, request: WebhookRequest, caller: ApiKey) -> WebhookCreated:
        require_role(caller.roles, PARTNER_ROLES, "registering a webhook")
        private = [k.value for k in request.kinds if not is_public(k)]
        if private:
            raise Unprocessable(f"kinds: {', '.join(private)} concern one customer and are never sent to partners",
                                field="kinds", rule="public_kinds")  # fmt: skip
        problem = await self._problem(request.url)
        if problem is not None:
            raise Unprocessable(f"url: {problem}", field="url", rule="public_target")
        webhook = Webhook(
            id=f"wh_{secrets.token_hex(8)}",
            key_id=caller.key_id,
            region=caller.region,
            url=request.url,
            kinds=list(request.kinds),
            format=request.format,
            created_at=self.clock(),
        )
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        await self.store.create(webhook, secret)
        return WebhookCreated(webhook=webhook, secret=secret)

    async def of_caller(self, caller: ApiKey) -> list[Webhook]:
        require_role(caller.roles, PARTNER_ROLES, "webhooks")
        return [w for w in await self.store.of_region(caller.region) if w.key_id == caller.key_id]

    async def delete(self, webhook_id: str, caller: ApiKey) -> None:
        require_role(caller.roles, PARTNER_ROLES, "webhooks")
        webhook = await self.store.get(webhook_id)
        if webhook is None or webhook.key_id != caller.key_id:
            raise NotFound(f"no webhook {webhook_id} of this key")
        await self.store.delete(webhook)

    async def matching(self, notice: Notice) -> list[Webhook]:
        """The enabled webhooks that want this notice: its region, a wanted public kind."""
        outage = notice.outage
        if not is_public(outage.kind):
            return []
        return [
            w
            for w in await self.store.of_region(outage.region)
            if w.enabled and (not w.kinds or outage.kind in w.kinds)
        ]

    def _body(self, webhook: Webhook, notice: Notice) -> tuple[bytes, str]:
        outage = public_view(notice.outage)
        if webhook.format == "cap":
            s = self.settings
            alert = cap_alert(outage, notice.id, sender=s.cap_sender, base_url=s.public_base_url,
                              hotline=s.hotline, zone=s.zone)  # fmt: skip
            return environment().get_template("feeds/cap.xml").render(a=alert).encode(), "application/cap+xml"
        payload = {
            "type": f"outage.{notice.event.value}",
            "timestamp": self.clock().isoformat(),
            "data": {"notice": notice.id, "event": notice.event.value, "outage": outage},
        }
        return msgspec.json.encode(payload), "application/json"

    async def deliver(self, webhook_id: str, outage_id: str, notice_id: str, attempt: int) -> Delivery:
        """Try `attempt` (1-based) of one notice to one webhook."""
        webhook = await self.store.get(webhook_id)
        secret = await self.store.secret(webhook_id)
        if webhook is None or secret is None or not webhook.enabled:
            return Delivery(gave_up="the webhook was deleted or disabled")
        notice = notice_of(await self.outages.get(outage_id), notice_id)
        body, media_type = self._body(webhook, notice)
        msg_id, now = message_id(outage_id, notice_id), self.clock()
        # Resolved again at each send: a name that now points inside is refused (DNS rebinding).
        problem = await self._problem(webhook.url)
        error = ""
        if problem is None:
            headers = {
                "content-type": media_type,
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(now.timestamp())),
                # The library reads the time as UTC: given a local time it would sign another instant.
                "webhook-signature": Signer(secret).sign(msg_id, now.astimezone(UTC), body.decode()),
            }
            try:
                async with httpx.AsyncClient(
                    timeout=self.settings.webhook_timeout, follow_redirects=False
                ) as client:
                    response = await client.post(webhook.url, content=body, headers=headers)
                if 200 <= response.status_code < 300:
                    await self.store.update(webhook_id, lambda w: msgspec.structs.replace(
                        w, failures=0, last_error="", last_delivered_at=now))  # fmt: skip
                    return Delivery(delivered=True)
                error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
        else:
            error = f"refused target: {problem}"
        pause = retry_pause(attempt) if problem is None else None
        reason = "" if pause is not None else f"gave up after {attempt} tries: {error}"

        def failed(w: Webhook) -> Webhook:
            changed = msgspec.structs.replace(w, failures=w.failures + 1, last_error=error)
            return (
                msgspec.structs.replace(changed, enabled=False, disabled_reason=reason) if reason else changed
            )

        await self.store.update(webhook_id, failed)
        log.warning("webhook delivery failed", webhook_id=webhook_id, outage_id=outage_id, notice_id=notice_id,
                    attempt=attempt, error=error, disabled=bool(reason))  # fmt: skip
        if pause is None:
            return Delivery(gave_up=reason)
        return Delivery(retry_after=pause.total_seconds())

    async def enqueue(self, notice: Notice) -> int:
        """One delivery job per wanted webhook (job ids fixed: a re-run publishes once)."""
        hooks = await self.matching(notice)
        for webhook in hooks:
            await self.queue.enqueue_job(
                DELIVER_WEBHOOK_JOB, webhook.id, notice.outage.id, notice.id,
                _job_id=f"webhook:{webhook.id}:{notice.outage.id}:{notice.id}", _queue_name=self.settings.queue_name,
            )  # fmt: skip
        return len(hooks)


class WebhookPublisher:
    """The publish job's channel for partners: each notice becomes a delivery job per webhook."""

    def __init__(self, service: WebhookService) -> None:
        self.service = service

    @property
    def channel(self) -> str:
        return "webhook"

    async def publish(self, notice: Notice) -> HandOver:
        await self.service.enqueue(notice)
        return TAKEN
