"""The Litestar application factory."""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dishka import AsyncContainer
from litestar import Litestar, Router
from litestar.datastructures import CacheControlHeader, State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Tag
from litestar.serialization import encode_json
from litestar.static_files import create_static_files_router

from entrypoints.config.logging import configure_logging
from entrypoints.config.settings import Settings
from entrypoints.di.providers import make_container
from entrypoints.http.controllers.health import HealthController, MetricsController
from entrypoints.http.controllers.jobs import JobsController, LaunchController
from entrypoints.http.controllers.logs import LogsController
from entrypoints.http.controllers.page import STATIC_DIR, index
from entrypoints.http.controllers.tables import TablesController
from entrypoints.http.disconnect import cancel_on_disconnect
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.injection import CONTAINER
from entrypoints.http.metrics import record_requests
from entrypoints.http.retention import retention
from entrypoints.http.security import guard_writes, security_headers
from entrypoints.http.streams import StreamSlots

VENDOR = "/static/vendor"
FAVICON = "<link rel='icon' type='image/svg+xml' href='/static/favicon.svg'>"

TAGS = [
    Tag(name="logs", description="The latest records of a table"),
    Tag(name="tables", description="The tables: one per CSV file in the data folder"),
    Tag(name="jobs", description="Metric computations on the task queue"),
    Tag(name="health", description="Whether the service can answer, and its metrics"),
]

DESCRIPTION = """
Browse sales tables kept in PostgreSQL (each loaded from a CSV file on first use) and run
long metric computations on a task queue.

Every error is an RFC 9457 problem (`application/problem+json`) whose members name what
was wrong.
"""


def create_app(
    settings: Settings | None = None, container: AsyncContainer | None = None
) -> Litestar:
    if settings is None:
        # Called by uvicorn in a process of its own (one per `--workers`): set it up fully.
        settings = Settings.from_env()
        configure_logging(settings.log.level)
    container = container or make_container(settings, serving=True)

    @asynccontextmanager
    async def close_container(_: Litestar) -> AsyncIterator[None]:
        # Everything alive once the app is built (modules, routes, the container) lives as
        # long as the process: moving it out of the collector's generations stops every
        # full collection from walking it again (measured: a fifth more /logs per second).
        gc.freeze()
        try:
            async with retention(container, settings.jobs.retention_days):
                yield
        finally:
            await container.close()

    # Revalidated on every load (cheap with ETags): a deploy never leaves stale modules behind.
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        include_in_schema=False,
        cache_control=CacheControlHeader(no_cache=True),
    )
    # Each handler marked `@inject` takes its dependencies from CONTAINER (injection.py).
    api = Router(
        path="/",
        route_handlers=[
            LogsController,
            TablesController,
            LaunchController,
            JobsController,
            HealthController,
            MetricsController,
        ],
    )
    app = Litestar(
        route_handlers=[api, static, index],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            guard_writes(settings.security.token_list),
            cancel_on_disconnect,
        ],
        before_send=[security_headers],
        state=State(
            {
                CONTAINER: container,
                "streams": StreamSlots(
                    total=settings.http.max_streams,
                    per_client=settings.http.max_streams_per_client,
                ),
            }
        ),
        lifespan=[close_container],
        openapi_config=openapi_config(),
        # Logging is the process's (entrypoints.config.logging), not the framework's.
        logging_config=None,
    )
    # Around the whole application, not per route as Litestar's middleware is: every request
    # is counted and logged with the status it got, an unknown path's 404, a refused write's
    # 403 and a 405 included (the exception handler's answer passes through it).
    app.asgi_handler = record_requests(app.asgi_handler)
    return app


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document, and its two UIs served from vendored files (they work offline)."""
    return OpenAPIConfig(
        title="Experiments",
        version="0.1.0",
        description=DESCRIPTION,
        tags=TAGS,
        use_handler_docstrings=False,
        render_plugins=[
            ScalarRenderPlugin(
                js_url=f"{VENDOR}/scalar/standalone.js",
                css_url="/static/docs.css",
                favicon=FAVICON,
                options={"withDefaultFonts": False, "hideClientButton": True},
            ),
            SwaggerRenderPlugin(
                path="/swagger",
                js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
                css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
                standalone_preset_js_url=f"{VENDOR}/swagger-ui/swagger-ui-standalone-preset.js",
                favicon=FAVICON,
            ),
        ],
    )


def openapi_document() -> str:
    """The OpenAPI document as JSON text, stable from run to run (for docs/openapi.json)."""
    schema = json.loads(encode_json(create_app(Settings()).openapi_schema.to_schema()))
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
