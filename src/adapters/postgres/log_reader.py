from __future__ import annotations

from psycopg import errors, sql
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from adapters.postgres.loading.typed_table import user_key
from adapters.postgres.schema import ROW_KEY, stored_table
from adapters.postgres.statements import Parameters, fetch_all
from domain.tables.errors import TableChanged
from domain.tables.logs import LogCursor, LogPage, LogQuery
from domain.tables.model import TableInfo
from domain.tables.ports import LogReader

SELECT_VERSION = "SELECT version FROM experiments.tables WHERE name = %s"


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

    async def read(self, table: TableInfo, query: LogQuery) -> LogPage:
        statement, params = logs_query(table, query)
        statement = _with_version(statement, table, params)
        try:
            async with database_errors(), self._pool.connection() as conn:
                records = await fetch_all(conn, statement, params)
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
        rows = [dict(zip(names, record[2:], strict=True)) for record in page]
        next_cursor = None
        if len(records) > query.limit:
            last = page[-1]
            date = rows[-1][table.date_column] if table.date_column is not None else None
            next_cursor = LogCursor(date=date, row=last[1])
        return LogPage(table=table, query=query, rows=rows, next_cursor=next_cursor)


def _with_version(statement: sql.Composed, table: TableInfo, params: Parameters) -> sql.Composed:
    """The page's rows, each with the catalog's version of the table first: read in the same
    statement, after the rows' table was opened (the sub-select runs once)."""
    order = sql.SQL("{} DESC").format(sql.Identifier(ROW_KEY))
    if table.date_column is not None:
        order = sql.SQL("{} DESC NULLS LAST, {}").format(sql.Identifier(table.date_column), order)
    return sql.SQL(
        "SELECT (SELECT version FROM experiments.tables WHERE name = {}), page.* "
        "FROM ({}) AS page ORDER BY {}"
    ).format(params.bind(str(table.name)), statement, order)


def logs_query(table: TableInfo, query: LogQuery) -> tuple[sql.Composed, Parameters]:
    """The page's query: one index range scan in the index's own order.

    After a cursor with a date, the older dated rows and the undated ones (which come last)
    are two limited scans joined by UNION ALL: with an OR between them neither could seek.
    """
    params = Parameters()
    row_key = sql.Identifier(ROW_KEY)
    date = sql.Identifier(table.date_column) if table.date_column is not None else None
    filters: list[sql.Composable] = []
    if query.from_date is not None and date is not None:
        filters.append(sql.SQL("{} >= {}").format(date, params.bind(query.from_date)))
    if query.user_id is not None and table.user_column is not None:
        filters.append(
            sql.SQL("{} = {}").format(
                user_key(sql.Identifier(table.user_column)), params.bind(query.user_id)
            )
        )
    order = sql.SQL("{} DESC").format(row_key)
    if date is not None:
        order = sql.SQL("{} DESC NULLS LAST, {}").format(date, order)
    columns = sql.SQL(", ").join(
        [row_key, *(sql.Identifier(column.name) for column in table.columns)]
    )
    source = stored_table(table.name)
    limit = params.bind(query.limit + 1)

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
        return page(sql.SQL("{} < {}").format(row_key, params.bind(after.row))), params
    if after.date is None:
        condition = sql.SQL("{} IS NULL AND {} < {}").format(date, row_key, params.bind(after.row))
        return page(condition), params
    older = page(
        sql.SQL("({}, {}) < ({}, {})").format(
            date, row_key, params.bind(after.date), params.bind(after.row)
        )
    )
    undated = page(sql.SQL("{} IS NULL").format(date))
    statement = sql.SQL("({}) UNION ALL ({}) ORDER BY {} LIMIT {}").format(
        older, undated, order, limit
    )
    return statement, params
