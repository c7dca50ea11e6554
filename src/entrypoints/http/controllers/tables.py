from __future__ import annotations

from typing import Any

from dishka import FromDishka
from litestar import Controller, Request, Response, get

from domain.tables.use_cases.list_tables import ListTables
from entrypoints.http.errors import describe, problem_responses
from entrypoints.http.injection import inject
from entrypoints.http.revalidation import (
    REVALIDATE,
    caching_headers,
    not_modified_response,
    revalidated,
    tables_tag,
)
from entrypoints.http.schemas import TableResponse, TablesResponse


class TablesController(Controller):
    path = "/tables"
    tags = ["tables"]

    @get(
        summary="Every table, loaded or not",
        operation_id="listTables",
        description=describe(ListTables),
        responses=not_modified_response() | problem_responses(503),
        response_headers=caching_headers(),
    )
    @inject
    async def tables(
        self, list_tables: FromDishka[ListTables], request: Request[Any, Any, Any]
    ) -> Response[TablesResponse]:
        statuses = await list_tables()
        return revalidated(
            request,
            tables_tag(statuses),
            REVALIDATE,
            lambda: TablesResponse(tables=[TableResponse.of(s) for s in statuses]),
        )
