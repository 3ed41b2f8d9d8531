"""The one factory that builds the Litestar app."""

import importlib.util
import secrets
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from api.auth import provide_caller
from api.cache import RenderedCache
from api.compliance import archive, compliance, compliance_page
from api.customers import CustomerController
from api.dev import ivr_page, ivr_step, outbox_page
from api.dispatch_page import dispatch_events, dispatch_reports_page
from api.errors import EXCEPTION_HANDLERS
from api.fault_reports import FaultReportController, RepairController, SuspectedOutageController
from api.feeds import atom_feed, calendar_feed, cap_document, cap_index
from api.ivr import WebhookToken, incoming_call, menu_step
from api.metrics import ProcessMetrics, health, metrics, ready
from api.notices import NoticeController
from api.outages import OutageController
from api.prebuilt import serve_prebuilt
from api.public_api import public_outages, public_outages_geojson, public_summary
from api.report_page import report_form, report_sent
from api.reviews import ReviewController
from api.storm import DispatchStormController
from api.subscribe_page import subscribe_form, subscribe_sent, subscribe_verified
from api.subscriptions import ContactController, SubscriptionController
from api.twilio_hooks import sms_inbound, sms_status
from api.unsubscribe import unsubscribe, unsubscribe_page
from api.voice_hooks import voice_confirm, voice_notice, voice_status
from api.web import live_events, lookup_page, outage_list, outage_page, storm_page
from api.webhooks import WebhookController
from publishers.channels import build_channels
from publishers.templates import environment
from schemas.clock import Clock, clock_in
from schemas.rules import lead_time_description
from schemas.settings import Settings, SettingsError
from services.access import AccessService
from services.area_subscriptions import AreaSubscriptionService
from services.customers import CustomerService
from services.dev import DevService
from services.fault_reports import FaultReportService
from services.followups import FollowUpService
from services.ivr import IvrService
from services.live import Broadcaster
from services.logs import request_logging
from services.operations import OperationsService
from services.outages import OutageService
from services.public import PublicService
from services.registration import RegistrationService
from services.replies import ReplyService
from services.reports import ReportService
from services.storm import DispatchStormService, StormService
from services.voice import VoiceService
from services.webhooks import WebhookService

# Public routes that do work per request: a search, a held-open live connection. The pages, feeds
# and JSON are served from one shared render per version (api.cache), so popularity costs nothing
# and is never refused: thousands of customers behind one carrier NAT or CDN address read them.
LIMITED_PREFIXES = ("/lookup", "/events", "/report", "/subscribe", "/api/v1/subscriptions")


def _is_limited(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith(LIMITED_PREFIXES)


def public_rate_limit(settings: Settings) -> list[Any]:
    """Throttles public searches and live connections per client address (429 with Retry-After)."""
    if settings.public_rate_limit <= 0:
        return []
    config = RateLimitConfig(
        rate_limit=("second", settings.public_rate_limit), check_throttle_handler=_is_limited
    )
    return [config.middleware]


# Swagger UI 5 (OpenAPI 3.1) from the swagger-ui-py package, served here: CDNs are unreachable
# offline and unreliable in mainland China. (No small package ships ReDoc's files; rather no ReDoc
# page than a blank one.)
DOCS_ASSETS = "/schema/assets"
SWAGGER_FILES = Path(importlib.util.find_spec("swagger_ui").origin or "").parent / "static"  # type: ignore[union-attr]


def swagger_offline() -> SwaggerRenderPlugin:
    return SwaggerRenderPlugin(
        js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{DOCS_ASSETS}/favicon-32x32.png'>",
    )


def dev_pages(settings: Settings) -> list[Any]:
    """The developer pages, only where they were asked for and cannot leak a real token's power."""
    if not settings.dev_pages:
        return []
    if settings.twilio_auth_token:
        raise SettingsError("developer pages cannot run with TWILIO_AUTH_TOKEN set")
    return [outbox_page, ivr_page, ivr_step]


def _singletons(**objects: Any) -> dict[str, Provide]:
    """One instance each for the app's lifetime, handed to handlers by name."""
    return {
        name: Provide(_constant(value), use_cache=True, sync_to_thread=False)
        for name, value in objects.items()
    }


def _constant(value: Any) -> Any:
    # A function without parameters: Litestar would try to inject a parameter (lambda v=v: v).
    def provide() -> Any:
        return value

    return provide


def create_app(settings: Settings, redis: ArqRedis, clock: Clock | None = None) -> Litestar:
    now: Clock = clock or clock_in(settings.zone)
    service = OutageService(settings, redis, now)
    customers = CustomerService(redis, settings)
    public = PublicService(redis)
    storm = StormService(redis, settings)
    reports = ReportService(service, redis, build_channels(settings, redis, now))
    fault_reports = FaultReportService(service, redis)
    followups = FollowUpService(settings, redis, now, fault_reports)
    registration = RegistrationService(settings, redis, now)
    webhooks = WebhookService(settings, redis, now)
    voice = VoiceService(settings, redis, now)
    areas = AreaSubscriptionService(settings, redis, now)
    replies = ReplyService(service, redis, fault_reports, followups, registration)
    ivr = IvrService(settings, redis, now, fault_reports)
    dev = DevService(redis, now)
    operations = OperationsService(settings, redis)
    access = AccessService(redis)
    broadcaster = Broadcaster(redis)
    rendered = RenderedCache()
    process_metrics = ProcessMetrics()
    # Without Twilio (demo, tests) the IVR still checks signatures, against a secret of this process.
    webhook_token = WebhookToken(settings.twilio_auth_token or secrets.token_urlsafe(24))

    @get("/api/v1/rules", tags=["outages"], summary="The publication rules this deployment applies")
    async def rules() -> dict[str, Any]:
        return {"lead_times": lead_time_description(settings.lead_times), "docs": "/schema/swagger"}

    app = Litestar(
        route_handlers=[
            rules,
            create_static_files_router(
                path=DOCS_ASSETS, directories=[SWAGGER_FILES], include_in_schema=False
            ),
            health,
            ready,
            metrics,
            *dev_pages(settings),
            outage_list,
            outage_page,
            lookup_page,
            report_form,
            report_sent,
            subscribe_form,
            subscribe_sent,
            subscribe_verified,
            unsubscribe_page,
            unsubscribe,
            live_events,
            compliance,
            archive,
            compliance_page,
            dispatch_reports_page,
            dispatch_events,
            incoming_call,
            menu_step,
            public_outages,
            public_outages_geojson,
            public_summary,
            storm_page,
            atom_feed,
            cap_document,
            cap_index,
            calendar_feed,
            sms_status,
            sms_inbound,
            voice_notice,
            voice_confirm,
            voice_status,
            OutageController,
            ReviewController,
            CustomerController,
            NoticeController,
            FaultReportController,
            RepairController,
            SuspectedOutageController,
            SubscriptionController,
            ContactController,
            WebhookController,
            DispatchStormController,
        ],
        dependencies={
            "caller": Provide(provide_caller),
            **_singletons(
                outages=service,
                customers=customers,
                public=public,
                storm=storm,
                dispatch_storm=DispatchStormService(storm, service, fault_reports, reports),
                reports=reports,
                replies=replies,
                fault_reports=fault_reports,
                registration=registration,
                webhooks=webhooks,
                voice=voice,
                areas=areas,
                ivr=ivr,
                dev=dev,
                operations=operations,
                access=access,
                settings=settings,
                broadcaster=broadcaster,
                rendered=rendered,
                process_metrics=process_metrics,
                webhook_token=webhook_token,
                clock=now,
            ),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment())),
        openapi_config=OpenAPIConfig(
            title="Outage notice service",
            version="1.0.0",
            description=(
                "Dispatch centres submit outage records; reviewers approve them; approved notices are "
                "published to customers. Authenticate with 'Authorization: Bearer <key>' (create keys "
                "with `outage-notice keys create`)."
            ),
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
            render_plugins=[swagger_offline()],
            path="/schema",
        ),
        on_shutdown=[broadcaster.close],
        state=State({"broadcaster": broadcaster}),
        middleware=public_rate_limit(settings),
        # Logging is set up once per process (services.logs); the app must not replace it.
        logging_config=None,
        debug=False,
    )
    # Public renders answer before routing; every request, those too, is logged once.
    app.asgi_handler = request_logging(serve_prebuilt(app.asgi_handler, rendered, public.version, now))
    return app
