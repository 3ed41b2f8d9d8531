"""/health, /ready and /metrics (Prometheus text format)."""

import time

from litestar import Response, get
from litestar.di import NamedDependency
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from schemas.clock import Clock
from services.operations import OperationsService, Snapshot


class ProcessMetrics:
    """What only this process sees: how long the phone menu took to answer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ivr_seconds = Histogram(
            "outage_ivr_request_seconds",
            "Time to answer an IVR webhook",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )


@get("/health", tags=["operations"], summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", tags=["operations"], summary="Redis answers and a worker was seen in the last minute")
async def ready(operations: NamedDependency[OperationsService]) -> Response[dict[str, str]]:
    checks = await operations.readiness()
    if all(v == "ok" for v in checks.values()):
        return Response(checks)
    return Response(checks, status_code=503, headers={"Retry-After": "5"})


@get("/metrics", tags=["operations"], summary="Prometheus metrics", media_type="text/plain; version=0.0.4")
async def metrics(
    operations: NamedDependency[OperationsService],
    clock: NamedDependency[Clock],
    process_metrics: NamedDependency[ProcessMetrics],
) -> Response[bytes]:
    started = time.perf_counter()
    registry = CollectorRegistry()
    registry.register(Snapshot(await operations.metric_families(clock())))
    body = generate_latest(registry) + generate_latest(process_metrics.registry)
    scrape = f"# scrape took {time.perf_counter() - started:.4f}s\n".encode()
    return Response(body + scrape, media_type="text/plain; version=0.0.4")
