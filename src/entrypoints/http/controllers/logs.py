from __future__ import annotations

from typing import Annotated, Any, cast

from dishka import FromDishka
from litestar import Controller, Request, Response, get
from litestar.datastructures import ResponseHeader
from litestar.openapi.spec import Example
from litestar.params import Parameter

from domain.tables.logs import (
    FROM_DATE_PATTERN,
    MAX_USER_ID_LENGTH,
    PAGE_SIZE,
    USER_ID_PATTERN,
)
from domain.tables.model import TABLE_NAME_PATTERN
from domain.tables.use_cases.fetch_logs import FetchLogs
from entrypoints.http.errors import describe, problem_responses
from entrypoints.http.injection import inject
from entrypoints.http.revalidation import (
    REVALIDATE,
    caching_headers,
    logs_tag,
    not_modified_response,
    revalidated,
)
from entrypoints.http.schemas import LogsResponse, encode_json

TABLE_VERSION = "X-Table-Version"
TABLE_STALE = "X-Table-Stale"


class LogsController(Controller):
    path = "/logs"
    tags = ["logs"]

    @get(
        summary=f"The {PAGE_SIZE} latest records of a table",
        operation_id="fetchLogs",
        description=describe(FetchLogs),
        responses=not_modified_response() | problem_responses(400, 404, 422, 503),
        response_headers=[
            *caching_headers(),
            ResponseHeader(
                name=TABLE_VERSION,
                description="The version of the table the rows come from",
                documentation_only=True,
            ),
            ResponseHeader(
                name=TABLE_STALE,
                description="`reload-failed` when the table's current CSV file could not be "
                "loaded and the rows come from its previous version (`reload_failure` in the "
                "body says why)",
                documentation_only=True,
                required=False,
            ),
        ],
    )
    @inject
    async def logs(
        self,
        *,
        fetch_logs: FromDishka[FetchLogs],
        table_name: Annotated[
            str,
            Parameter(
                # In the document only: the domain checks it, naming the rule that is broken.
                schema_extra={"pattern": TABLE_NAME_PATTERN},
                description="A table: the stem of a CSV file in the data folder (no path "
                "separator or control character, not starting with a dot)",
                examples=[Example(value="df_sales"), Example(value="df_sales_detail")],
            ),
        ],
        from_date: Annotated[
            str | None,
            Parameter(
                schema_extra={"pattern": FROM_DATE_PATTERN},
                description="Only records dated on or after this ISO 8601 date or date-time. "
                "A date means from the start of that day; a date-time without a zone is UTC "
                "for zoned columns and wall-clock time otherwise.",
                examples=[Example(value="2023-06-01"), Example(value="2023-06-01T18:00:00")],
            ),
        ] = None,
        user_id: Annotated[
            str | None,
            Parameter(
                schema_extra={
                    "minLength": 1,
                    "maxLength": MAX_USER_ID_LENGTH,
                    "pattern": USER_ID_PATTERN,
                },
                description="Only this user's records (compared as text)",
                examples=[Example(value="8d0315")],
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
        headers = {TABLE_VERSION: str(page.table.version)}
        if page.reload_failure is not None:
            headers[TABLE_STALE] = "reload-failed"
        response = revalidated(
            request,
            logs_tag(page),
            REVALIDATE,
            lambda: encode_json(LogsResponse.of(page)),
            headers=headers,
        )
        # The body is LogsResponse, encoded here in one pass (exact decimals); Litestar sends
        # bytes as they are, and documents the route by its annotation.
        return cast(Response[LogsResponse], response)
