"""dishka's injection into the route handlers, from the application's container itself.

Every dependency a handler asks for is APP-scoped: a use case holds no state of a request
and takes a connection per port call (ADR 0006). dishka's Litestar integration
(`setup_dishka`, `DishkaRouter`) opens a REQUEST container around every request all the
same (a `Request`, two containers and their exit stacks, each dependency then looked up
through the parents, and a reference cycle a request), and finds it by building a `State`
of the request's scope on every call. Here a handler marked `@inject` takes its
`FromDishka[...]` parameters from the container the application keeps in its state
(`app.state.dishka_container`), which `create_app` puts there.

A handler that asked for a REQUEST-scoped dependency would fail on its first request;
`tests/integration/entrypoints/test_http_injection.py` resolves every handler's.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import Parameter, signature
from typing import Any, ParamSpec, TypeVar

from dishka import AsyncContainer
from dishka.integrations.base import wrap_injection
from litestar import Request

P = ParamSpec("P")
T = TypeVar("T")

CONTAINER = "dishka_container"
"""The name of the container in the application's state."""

_REQUEST = Parameter("request", Parameter.KEYWORD_ONLY, annotation=Request)


def inject(handler: Callable[P, T]) -> Callable[P, T]:
    """The handler with its `FromDishka` parameters resolved from the application's
    container; it is given the request to find it (unless it takes the request itself)."""
    takes_request = "request" in signature(handler).parameters
    return wrap_injection(
        func=handler,
        is_async=True,
        additional_params=() if takes_request else (_REQUEST,),
        container_getter=_app_container,
    )


def _app_container(_: tuple[Any, ...], kwargs: dict[str, Any]) -> AsyncContainer:
    container: AsyncContainer = kwargs["request"].app.state[CONTAINER]
    return container
