"""The handlers' dependencies come from the APP container (`entrypoints.http.injection`): no
request scope is opened per request, so each one must live there."""

from __future__ import annotations

from functools import partial
from inspect import signature
from typing import Any, get_type_hints

import pytest
from dishka import AsyncContainer
from dishka.integrations.base import default_parse_dependency
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.jobs.use_cases.launch_metric import LaunchMetric
from domain.tables.use_cases.fetch_logs import FetchLogs
from entrypoints.config.settings import Settings
from entrypoints.http.app import create_app


def injected(app: Litestar) -> set[tuple[Any, Any]]:
    """The (type, component) of every `FromDishka` parameter of every route's handler; fails
    on a handler that declares one without `@inject` (Litestar would read it as a query
    parameter)."""
    found: set[tuple[Any, Any]] = set()
    unmarked: list[str] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            function = getattr(handler.fn, "__dishka_orig_func__", handler.fn)
            if not function.__module__.startswith("entrypoints."):
                continue  # Litestar's own: the docs, the static files
            hints = get_type_hints(function, include_extras=True)
            for name, parameter in signature(function).parameters.items():
                key = default_parse_dependency(parameter, hints.get(name, Any))
                if key is None:
                    continue
                found.add((key.type_hint, key.component))
                if function is handler.fn:
                    unmarked.append(f"{handler.handler_name}({name})")
    assert unmarked == [], "FromDishka without @inject"
    return found


async def test_every_route_resolves_from_the_app_container(settings: Settings) -> None:
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        # The app runs on the test client's own loop, in its thread: reach it there.
        portal, container = client.blocking_portal, app.state.dishka_container
        wanted = injected(app)
        assert {FetchLogs, LaunchMetric} <= {kind for kind, _ in wanted}
        for kind, component in wanted:
            assert isinstance(portal.call(partial(container.get, kind, component=component)), kind)


async def test_no_container_is_opened_for_a_request(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[AsyncContainer] = []
    enter = AsyncContainer.__call__

    def counted(self: AsyncContainer, *args: Any, **kwargs: Any) -> AsyncContainer:
        opened.append(self)
        return enter(self, *args, **kwargs)

    monkeypatch.setattr(AsyncContainer, "__call__", counted)
    async with AsyncTestClient(app=create_app(settings)) as client:
        responses = [
            await client.get("/logs", params={"table_name": "df_sales"}),
            await client.get("/tables"),
            await client.post("/launch"),
        ]

    assert [response.status_code for response in responses] == [200, 200, 202]
    assert opened == []
