from __future__ import annotations

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get

from domain.health.use_cases.check_cache import CheckCache
from domain.health.use_cases.check_health import CheckHealth
from entrypoints.http.errors import describe, problem_responses
from entrypoints.http.schemas import CacheResponse, HealthResponse


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(
        summary="Whether the service can answer",
        operation_id="checkHealth",
        description=describe(CheckHealth) + "\n\n" + describe(CheckCache),
        responses=problem_responses(503),
    )
    async def health(
        self, check_health: FromDishka[CheckHealth], check_cache: FromDishka[CheckCache]
    ) -> HealthResponse:
        await check_health()
        cache = await check_cache()
        return HealthResponse(status="ok", cache=CacheResponse.of(cache) if cache else None)
