from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, errors, sql
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from adapters.postgres.loading.typed_table import user_key
from adapters.postgres.schema import ROW_KEY, stored_table
from adapters.postgres.statements import Parameters, fetch_all
from domain.tables.errors import TableChanged
from domain.tables.logs import LogCursor, LogPage, LogQuery, Records
from domain.tables.model import TableInfo
from domain.tables.ports import LogReader

SELECT_VERSION = "SELECT version FROM experiments.tables WHERE name = %s"
MAX_STATEMENTS = 1024
"""Composed statements kept per process: one per table version and query shape."""

_Shape = tuple[str, int, str, str | None, bool, bool, int]


class _Slots(Parameters):
    """Parameters that remember which part of the query each one is, so that a statement
    composed once for a shape of query runs with the values of any query of that shape."""

    def __init__(self) -> None:
        super().__init__()
        self.names: tuple[str, ...] = ()

    def slot(self, name: str, value: object) -> sql.Composable:
        self.names += (name,)
        return self.bind(value)


class PostgresLogReader(LogReader):
    """Newest first by (date column, file position); each filter is an index condition.

    A page is of one version of its table, the one it was asked for: the catalog's version is
    read in the same statement as the rows (an empty page reads it right after). A reload
    swaps the table and bumps the version in one commit, and cannot swap a table while a
    statement reads it; so if the version is the one asked for, the rows are of it, and if it
    is not, the read raises TableChanged (the caller reads the catalog again).
    """

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        # Composing a statement costs more than running it from a warm plan: compose each
        # (table version, query shape) once; the text is the same whatever the values.
        self._statements: dict[_Shape, tuple[bytes, tuple[str, ...]]] = {}

    async def read(self, table: TableInfo, query: LogQuery) -> LogPage:
        try:
            async with database_errors(), self._pool.connection() as conn:
                statement, slots = self._statement(conn, table, query)
                values = _values(table, query)
                records = await fetch_all(conn, statement, [values[slot] for slot in slots])
                if records:
                    version = records[0][0]
                else:
                    cur = await conn.execute(SELECT_VERSION, (str(table.name),))
                    stored = await cur.fetchone()
                    version = stored[0] if stored else None
        except (
            errors.UndefinedTable,
            errors.UndefinedColumn,
            errors.UndefinedFunction,
            errors.DatatypeMismatch,
        ) as error:
            raise TableChanged(str(table.name)) from error
        if version != table.version:
            raise TableChanged(str(table.name))
        names = [column.name for column in table.columns]
        page = records[: query.limit]
        next_cursor = None
        if len(records) > query.limit:
            last = page[-1]
            # Each record is the version, the row key, then the columns in order.
            date = (
                last[2 + names.index(table.date_column)] if table.date_column is not None else None
            )
            next_cursor = LogCursor(date=date, row=last[1])
        rows = Records(names, [record[2:] for record in page])
        return LogPage(table=table, query=query, rows=rows, next_cursor=next_cursor)

    def _statement(
        self, conn: AsyncConnection[Any], table: TableInfo, query: LogQuery
    ) -> tuple[bytes, tuple[str, ...]]:
        shape = _shape(table, query)
        if (known := self._statements.get(shape)) is not None:
            return known
        statement, params = logs_query(table, query)
        statement = _with_version(statement, table, params)
        if len(self._statements) >= MAX_STATEMENTS:
            self._statements.clear()
        known = self._statements[shape] = (statement.as_bytes(conn), params.names)
        return known


def _shape(table: TableInfo, query: LogQuery) -> _Shape:
    """What the text of a page's statement depends on: the table as loaded, which filters
    the query has and which kind of cursor."""
    after = query.after
    cursor = 0 if after is None else 1 if after.date is None else 2
    return (
        str(table.name),
        table.version,
        table.loaded_at.isoformat(),
        table.fingerprint.sha256,
        query.from_date is not None,
        query.user_id is not None,
        cursor,
    )


def _values(table: TableInfo, query: LogQuery) -> dict[str, object]:
    after = query.after
    return {
        "table": str(table.name),
        "from_date": query.from_date,
        "user_id": query.user_id,
        "after_date": None if after is None else after.date,
        "after_row": None if after is None else after.row,
        "limit": query.limit + 1,
    }


def _with_version(statement: sql.Composed, table: TableInfo, params: _Slots) -> sql.Composed:
    """The page's rows, each with the catalog's version of the table first: read in the same
    statement, after the rows' table was opened (the sub-select runs once)."""
    order = sql.SQL("{} DESC").format(sql.Identifier(ROW_KEY))
    if table.date_column is not None:
        order = sql.SQL("{} DESC NULLS LAST, {}").format(sql.Identifier(table.date_column), order)
    return sql.SQL(
        "SELECT (SELECT version FROM experiments.tables WHERE name = {}), page.* "
        "FROM ({}) AS page ORDER BY {}"
    ).format(params.slot("table", str(table.name)), statement, order)


def logs_query(table: TableInfo, query: LogQuery) -> tuple[sql.Composed, _Slots]:
    """The page's query: one index range scan in the index's own order.

    After a cursor with a date, the older dated rows and the undated ones (which come last)
    are two limited scans joined by UNION ALL: with an OR between them neither could seek.
    """
    params = _Slots()
    row_key = sql.Identifier(ROW_KEY)
    date = sql.Identifier(table.date_column) if table.date_column is not None else None
    filters: list[sql.Composable] = []
    if query.from_date is not None and date is not None:
        filters.append(sql.SQL("{} >= {}").format(date, params.slot("from_date", query.from_date)))
    if query.user_id is not None and table.user_column is not None:
        filters.append(
            sql.SQL("{} = {}").format(
                user_key(sql.Identifier(table.user_column)), params.slot("user_id", query.user_id)
            )
        )
    order = sql.SQL("{} DESC").format(row_key)
    if date is not None:
        order = sql.SQL("{} DESC NULLS LAST, {}").format(date, order)
    columns = sql.SQL(", ").join(
        [row_key, *(sql.Identifier(column.name) for column in table.columns)]
    )
    source = stored_table(table.name)
    limit = params.slot("limit", query.limit + 1)

    def page(*conditions: sql.Composable) -> sql.Composed:
        where = [*filters, *conditions]
        return sql.SQL("SELECT {} FROM {} {} ORDER BY {} LIMIT {}").format(
            columns,
            source,
            sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
            order,
            limit,
        )

    after = query.after
    if after is None:
        return page(), params
    if date is None:
        return page(sql.SQL("{} < {}").format(row_key, params.slot("after_row", after.row))), params
    if after.date is None:
        condition = sql.SQL("{} IS NULL AND {} < {}").format(
            date, row_key, params.slot("after_row", after.row)
        )
        return page(condition), params
    older = page(
        sql.SQL("({}, {}) < ({}, {})").format(
            date,
            row_key,
            params.slot("after_date", after.date),
            params.slot("after_row", after.row),
        )
    )
    undated = page(sql.SQL("{} IS NULL").format(date))
    statement = sql.SQL("({}) UNION ALL ({}) ORDER BY {} LIMIT {}").format(
        older, undated, order, limit
    )
    return statement, params
