from __future__ import annotations

from dishka import FromDishka
from litestar import Controller, Response, get

from domain.health.use_cases.check_cache import CheckCache
from domain.health.use_cases.check_readiness import CheckReadiness
from domain.health.use_cases.collect_metrics import CollectMetrics
from entrypoints.http.errors import describe, problem_responses
from entrypoints.http.injection import inject
from entrypoints.http.metrics import CONTENT_TYPE, exposition
from entrypoints.http.schemas import CacheResponse, HealthResponse, ReadinessResponse


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(
        summary="Whether the process is up (liveness)",
        operation_id="checkHealth",
        description="200 whenever the process answers: it asks no backing service, so it "
        "stays cheap and says nothing about them (`/health/ready` does).\n\n"
        + describe(CheckCache),
        responses=problem_responses(503),
    )
    @inject
    async def health(self, check_cache: FromDishka[CheckCache]) -> HealthResponse:
        cache = await check_cache()
        return HealthResponse(status="ok", cache=CacheResponse.of(cache) if cache else None)

    @get(
        "/ready",
        summary="Whether the service can serve (readiness)",
        operation_id="checkReadiness",
        description=describe(CheckReadiness),
        responses=problem_responses(503),
    )
    @inject
    async def ready(self, check_readiness: FromDishka[CheckReadiness]) -> ReadinessResponse:
        return ReadinessResponse.of(await check_readiness())


class MetricsController(Controller):
    path = "/metrics"
    tags = ["health"]

    @get(
        summary="Prometheus metrics",
        operation_id="metrics",
        description="This process's requests and latencies by route template, and the "
        "service's figures: " + describe(CollectMetrics),
        media_type=CONTENT_TYPE,
        responses=problem_responses(503),
    )
    @inject
    async def metrics(self, collect_metrics: FromDishka[CollectMetrics]) -> Response[bytes]:
        return Response(exposition(await collect_metrics()), media_type=CONTENT_TYPE)
