"""The baselines of `/logs`: the same page from a bare Litestar + psycopg endpoint, and a
fixed-JSON ceiling.

`GET /logs` here takes the service's parameters (`table_name`, `from_date`, `user_id`,
`cursor`) and runs the service's SQL (the statements below: one index range scan in the
index's order, the catalog's version read in the same statement, 101 rows for `has_more`) on
an autocommit pool, then encodes the rows with msgspec. Nothing else: no catalog lookup, no
checks, no dependency injection, no cache. `GET /ceiling` sends the bytes of the first page,
encoded once at start: what the server and framework cost with no work at all.

Served by uvicorn like the API: `BENCH_DATABASE_URL=... uvicorn --factory
benchmarks.bare_logs:create_app`. Only tables shaped like `df_sales` (a timestamp `date`,
a `user_id`) are served.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, Response, get
from psycopg import AsyncConnection, AsyncRawCursor, sql
from psycopg_pool import AsyncConnectionPool

PAGE = 100
POOL_SIZE = 20

ROWS = (
    "SELECT {columns} FROM {table} {where} "
    'ORDER BY "date" DESC NULLS LAST, "__row" DESC LIMIT {limit}'
)
AFTER = '("date", "__row") < ({date}, {row})'
UNDATED = '"date" IS NULL'
FROM_DATE = '"date" >= {value}'
USER = '(("user_id"::text) COLLATE "C") = {value}'
WITH_VERSION = (
    "SELECT (SELECT version FROM experiments.tables WHERE name = {name}), page.* "
    'FROM ({page}) AS page ORDER BY "date" DESC NULLS LAST, "__row" DESC'
)
COLUMNS = (
    "SELECT column_name FROM information_schema.columns "
    "WHERE table_schema = 'csv' AND table_name = %s AND column_name <> '__row' "
    "ORDER BY ordinal_position"
)

_encoder = msgspec.json.Encoder()


class _Placeholders:
    def __init__(self) -> None:
        self.values: list[object] = []

    def __call__(self, value: object) -> sql.Composable:
        self.values.append(value)
        return sql.SQL(f"${len(self.values)}")


def page_statement(
    table: str,
    columns: list[str],
    *,
    from_date: dt.datetime | None,
    user_id: str | None,
    after: tuple[dt.datetime, int] | None,
) -> tuple[sql.Composed, list[object]]:
    bind = _Placeholders()
    filters: list[sql.Composable] = []
    if from_date is not None:
        filters.append(sql.SQL(FROM_DATE).format(value=bind(from_date)))
    if user_id is not None:
        filters.append(sql.SQL(USER).format(value=bind(user_id)))
    names = sql.SQL(", ").join(sql.Identifier(name) for name in ["__row", *columns])
    limit = bind(PAGE + 1)

    def rows(*conditions: sql.Composable) -> sql.Composed:
        where = [*filters, *conditions]
        return sql.SQL(ROWS).format(
            columns=names,
            table=sql.Identifier("csv", table),
            where=sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
            limit=limit,
        )

    if after is None:
        page = rows()
    else:
        older = rows(sql.SQL(AFTER).format(date=bind(after[0]), row=bind(after[1])))
        page = sql.SQL(
            '({}) UNION ALL ({}) ORDER BY "date" DESC NULLS LAST, "__row" DESC LIMIT {}'
        ).format(older, rows(sql.SQL(UNDATED)), limit)
    return sql.SQL(WITH_VERSION).format(name=bind(table), page=page), bind.values


def read_cursor(token: str) -> tuple[dt.datetime, int]:
    date, row = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return dt.datetime.fromisoformat(date), int(row)


def write_cursor(date: dt.datetime, row: int) -> str:
    payload = json.dumps([date.isoformat(), row], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


async def read_page(
    conn: AsyncConnection[Any],
    table: str,
    columns: list[str],
    *,
    from_date: dt.datetime | None = None,
    user_id: str | None = None,
    after: tuple[dt.datetime, int] | None = None,
) -> bytes:
    statement, values = page_statement(
        table, columns, from_date=from_date, user_id=user_id, after=after
    )
    async with AsyncRawCursor(conn) as cur:
        await cur.execute(statement, values)
        records = await cur.fetchall()
    page = records[:PAGE]
    rows = [dict(zip(columns, record[2:], strict=True)) for record in page]
    next_cursor = None
    if len(records) > PAGE:
        next_cursor = write_cursor(page[-1][columns.index("date") + 2], page[-1][1])
    version = records[0][0] if records else None
    return _encoder.encode(
        {"table": table, "version": version, "rows": rows, "next_cursor": next_cursor}
    )


def create_app() -> Litestar:
    url = os.environ["BENCH_DATABASE_URL"]
    pool = AsyncConnectionPool(
        url, min_size=POOL_SIZE, max_size=POOL_SIZE, kwargs={"autocommit": True}, open=False
    )
    columns: dict[str, list[str]] = {}
    ceiling: list[bytes] = []

    async def columns_of(table: str) -> list[str]:
        if table not in columns:
            async with pool.connection() as conn:
                cur = await conn.execute(COLUMNS, (table,))
                columns[table] = [name for (name,) in await cur.fetchall()]
        return columns[table]

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await pool.open(wait=True)
        table = os.environ.get("BENCH_TABLE", "df_sales")
        async with pool.connection() as conn:
            ceiling.append(await read_page(conn, table, await columns_of(table)))
        try:
            yield
        finally:
            await pool.close()

    @get("/logs")
    async def logs(
        table_name: str,
        from_date: dt.date | None = None,
        user_id: str | None = None,
        cursor: str | None = None,
    ) -> Response[bytes]:
        names = await columns_of(table_name)
        start = dt.datetime.combine(from_date, dt.time()) if from_date is not None else None
        after = read_cursor(cursor) if cursor is not None else None
        async with pool.connection() as conn:
            body = await read_page(
                conn, table_name, names, from_date=start, user_id=user_id, after=after
            )
        return Response(body, media_type="application/json")

    @get("/ceiling")
    async def fixed() -> Response[bytes]:
        return Response(ceiling[0], media_type="application/json")

    return Litestar([logs, fixed], lifespan=[lifespan], openapi_config=None)
