from __future__ import annotations

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get

from domain.tables.use_cases.list_tables import ListTables
from entrypoints.http.errors import describe, problem_responses
from entrypoints.http.schemas import TableResponse, TablesResponse


class TablesController(Controller):
    path = "/tables"
    tags = ["tables"]

    @get(
        summary="Every table, loaded or not",
        operation_id="listTables",
        description=describe(ListTables),
        responses=problem_responses(503),
    )
    async def tables(self, list_tables: FromDishka[ListTables]) -> TablesResponse:
        return TablesResponse(tables=[TableResponse.of(s) for s in await list_tables()])
