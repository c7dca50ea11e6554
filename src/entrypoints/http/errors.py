"""One map from errors to HTTP statuses and RFC 9457 problem bodies."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

from domain.health.errors import NotReady
from domain.shared.errors import (
    BeyondLimits,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    Overloaded,
    Unavailable,
    Unprocessable,
)
from domain.tables.errors import MalformedSource, TableNotFound
from entrypoints.http.schemas import ProblemDetails, checks_of

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

STATUS_OF: Mapping[type[DomainError], int] = {
    InvalidInput: HTTP_400_BAD_REQUEST,
    NotFound: HTTP_404_NOT_FOUND,
    Conflict: HTTP_409_CONFLICT,
    Unprocessable: HTTP_422_UNPROCESSABLE_ENTITY,
    BeyondLimits: HTTP_422_UNPROCESSABLE_ENTITY,
    Overloaded: HTTP_429_TOO_MANY_REQUESTS,
    Unavailable: HTTP_503_SERVICE_UNAVAILABLE,
}


ADDRESS = re.compile(
    r"""[a-z][a-z0-9+.-]*://[^\s'"<>]+"""  # URLs and DSNs, credentials and all
    r"""|\b(?:host|hostaddr|port|user|password|dbname)=\S+"""  # conninfo keywords
    r"""|\bport \d+"""  # PostgreSQL's "at "...", port 5432"
    r"""|\S*\.s\.PGSQL\.\d+"""  # PostgreSQL's Unix sockets
    r"""|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"""  # IPv4, with a port
    r"""|\[[0-9a-f:.]+\](?::\d+)?"""  # [IPv6], with a port
    r"""|(?<=")[0-9a-f]*:[0-9a-f]*:[0-9a-f:.]*(?=")"""  # "::1", as PostgreSQL quotes it
    r"""|\b(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*:\d{2,5}\b(?![\d:])""",  # host:port
    re.IGNORECASE,
)
"""What names a machine: an error detail never shows one (a driver's message would)."""


def scrubbed(detail: str) -> str:
    """`detail` with internal addresses (URLs, DSNs, hosts with ports, IPs) replaced."""
    return ADDRESS.sub("[address]", detail) if detail else detail


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return HTTP_500_INTERNAL_SERVER_ERROR


def problem(
    request: Request[Any, Any, Any],
    body: ProblemDetails,
    headers: Mapping[str, str] | None = None,
) -> Response[ProblemDetails]:
    headers = dict(headers or {})
    if body.retry_after is not None:
        headers["Retry-After"] = str(body.retry_after)
    elif body.status == HTTP_503_SERVICE_UNAVAILABLE:
        headers["Retry-After"] = "5"
    return Response(
        content=msgspec.structs.replace(
            body, instance=request.url.path, detail=scrubbed(body.detail)
        ),
        status_code=body.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[ProblemDetails]:
    body = ProblemDetails(title=error.title, status=status_of(error), detail=error.detail)
    if isinstance(error, InvalidInput):
        body = msgspec.structs.replace(body, parameter=error.parameter)
    if isinstance(error, TableNotFound):
        body = msgspec.structs.replace(body, known_tables=list(error.known))
    if isinstance(error, Overloaded):
        body = msgspec.structs.replace(body, retry_after=error.retry_after)
    if isinstance(error, NotReady):
        body = msgspec.structs.replace(body, checks=dict(checks_of(error.readiness)))
    if isinstance(error, MalformedSource):
        body = msgspec.structs.replace(
            body, file=error.file_name, line=error.line, column=error.column
        )
    return problem(request, body)


def validation_error(
    request: Request[Any, Any, Any], error: ValidationException
) -> Response[ProblemDetails]:
    extra = error.extra if isinstance(error.extra, list) else []
    keys = [item.get("key") for item in extra if isinstance(item, dict) and item.get("key")]
    messages = [
        f"{item.get('key')}: {item.get('message')}" for item in extra if isinstance(item, dict)
    ]
    detail = "; ".join(messages) or error.detail
    if not keys and (named := re.search(r"parameter '([^']+)'", error.detail)):
        keys.append(named.group(1))
    return problem(
        request,
        ProblemDetails(
            title="Invalid request",
            status=HTTP_400_BAD_REQUEST,
            detail=detail,
            parameter=keys[0] if keys else None,
        ),
    )


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[ProblemDetails]:
    # The exception's headers carry what the status needs: `Allow` with a 405, say.
    return problem(
        request,
        ProblemDetails(
            title=HTTPStatus(error.status_code).phrase,
            status=error.status_code,
            detail=error.detail,
        ),
        headers=error.headers,
    )


def unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[ProblemDetails]:
    log.exception("Unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return problem(
        request,
        ProblemDetails(
            title="Internal error",
            status=HTTP_500_INTERNAL_SERVER_ERROR,
            detail="The server failed to answer this request; the error was logged.",
        ),
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}


def describe(use_case: type) -> str:
    """A use case's docstring (its business rules) as an OpenAPI description."""
    return inspect.cleandoc(use_case.__doc__ or "")


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI descriptions of the problems an operation can answer with."""
    meaning = {
        HTTP_400_BAD_REQUEST: "A parameter is invalid; `parameter` names it",
        HTTP_401_UNAUTHORIZED: (
            "The service has API tokens and this change carried none of them: send "
            "`Authorization: Bearer <token>`"
        ),
        HTTP_403_FORBIDDEN: "A change from another site (its `Origin` is not this host)",
        HTTP_404_NOT_FOUND: "No such resource; for tables, `known_tables` lists the known ones",
        HTTP_409_CONFLICT: "The request conflicts with the resource's current state",
        HTTP_415_UNSUPPORTED_MEDIA_TYPE: (
            "The body is not application/json (a form or text body is refused on every change)"
        ),
        HTTP_422_UNPROCESSABLE_ENTITY: (
            "The table's CSV file cannot be loaded (`file`, `line` and `column` say where), "
            "or what was asked is beyond a limit of PostgreSQL"
        ),
        HTTP_429_TOO_MANY_REQUESTS: (
            "Too many jobs are queued or running (nothing was created), or too many event "
            "streams are open from this client. Retry after `Retry-After` seconds"
        ),
        HTTP_503_SERVICE_UNAVAILABLE: (
            "A backing service (PostgreSQL, the Redis broker) is unavailable, or PostgreSQL "
            "is busy (a statement ran past its time, a lock was held too long; `title` says "
            "which), or this process is at its bound of connections or streams; retry after "
            "`Retry-After` seconds"
        ),
    }
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=meaning[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }
