"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from dishka import AsyncContainer
from dishka.integrations.litestar import DishkaRouter, setup_dishka
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from entrypoints.di.providers import make_container
from entrypoints.http.controllers.health import HealthController
from entrypoints.http.controllers.jobs import JobsController, LaunchController
from entrypoints.http.controllers.logs import LogsController
from entrypoints.http.controllers.tables import TablesController
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.schemas import encode_decimal
from entrypoints.settings import Settings

DESCRIPTION = """
Browse sales tables kept in PostgreSQL (each loaded from a CSV file on first use) and run
long metric computations on a task queue.

Every error is an RFC 9457 problem (`application/problem+json`) whose members name what
was wrong.
"""


def create_app(
    settings: Settings | None = None, container: AsyncContainer | None = None
) -> Litestar:
    settings = settings or Settings.from_env()
    container = container or make_container(settings)

    @asynccontextmanager
    async def close_container(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await container.close()

    api = DishkaRouter(
        path="/",
        route_handlers=[
            LogsController,
            TablesController,
            LaunchController,
            JobsController,
            HealthController,
        ],
    )
    app = Litestar(
        route_handlers=[api],
        exception_handlers=EXCEPTION_HANDLERS,
        type_encoders={Decimal: encode_decimal},
        lifespan=[close_container],
        openapi_config=OpenAPIConfig(
            title="Experiments",
            version="0.1.0",
            description=DESCRIPTION,
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin()],
        ),
    )
    setup_dishka(container, app)
    return app
