from __future__ import annotations

from typing import Annotated, Any

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get
from litestar.openapi.spec import Example
from litestar.params import Parameter

from domain.tables.logs import FROM_DATE_PATTERN, PAGE_SIZE
from domain.tables.use_cases.fetch_logs import FetchLogs
from entrypoints.http.errors import describe, problem_responses
from entrypoints.http.revalidation import (
    REVALIDATE,
    caching_headers,
    logs_tag,
    not_modified_response,
    revalidated,
)
from entrypoints.http.schemas import LogsResponse


class LogsController(Controller):
    path = "/logs"
    tags = ["logs"]

    @get(
        summary=f"The {PAGE_SIZE} latest records of a table",
        operation_id="fetchLogs",
        description=describe(FetchLogs),
        responses=not_modified_response() | problem_responses(400, 404, 422, 503),
        response_headers=caching_headers(),
    )
    async def logs(
        self,
        *,
        fetch_logs: FromDishka[FetchLogs],
        table_name: Annotated[
            str,
            Parameter(
                description="A table: the stem of a CSV file in the data folder",
                examples=[Example(value="df_sales"), Example(value="df_sales_detail")],
            ),
        ],
        from_date: Annotated[
            str | None,
            Parameter(
                pattern=FROM_DATE_PATTERN,
                description="Only records dated on or after this ISO 8601 date or date-time. "
                "A date means from the start of that day; a date-time without a zone is UTC "
                "for zoned columns and wall-clock time otherwise.",
                examples=[Example(value="2023-06-01"), Example(value="2023-06-01T18:00:00")],
            ),
        ] = None,
        user_id: Annotated[
            str | None,
            Parameter(
                description="Only this user's records (compared as text)",
                examples=[Example(value="0ffc65")],
            ),
        ] = None,
        cursor: Annotated[
            str | None,
            Parameter(
                description="`next_cursor` of the previous page, for older records",
                examples=[Example(value="WyIyMDIzLTEyLTMxVDIzOjUwOjEyIiwxOTk4N10")],
            ),
        ] = None,
        request: Request[Any, Any, Any],
    ) -> Response[LogsResponse]:
        page = await fetch_logs(table_name, from_date=from_date, user_id=user_id, cursor=cursor)
        return revalidated(request, logs_tag(page), REVALIDATE, lambda: LogsResponse.of(page))
