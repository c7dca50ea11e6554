from __future__ import annotations

from psycopg import errors, sql
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from adapters.postgres.loader import ROW_KEY
from adapters.postgres.pool import DATA_SCHEMA
from domain.errors import TableChanged
from domain.model import LogCursor, LogPage, LogQuery, TableInfo
from domain.ports.tables import LogReader


class PostgresLogReader(LogReader):
    """Newest first by (date column, file position); each filter is an index condition."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def read(self, table: TableInfo, query: LogQuery) -> LogPage:
        statement, params = logs_query(table, query)
        try:
            async with database_errors(), self._pool.connection() as conn:
                cur = await conn.execute(statement, params)
                records = await cur.fetchall()
        except (errors.UndefinedTable, errors.UndefinedColumn) as error:
            raise TableChanged(str(table.name)) from error
        names = [column.name for column in table.columns]
        page = records[: query.limit]
        rows = [dict(zip(names, record[1:], strict=True)) for record in page]
        next_cursor = None
        if len(records) > query.limit:
            last = page[-1]
            date = rows[-1][table.date_column] if table.date_column is not None else None
            next_cursor = LogCursor(date=date, row=last[0])
        return LogPage(table=table, rows=rows, next_cursor=next_cursor)


def logs_query(table: TableInfo, query: LogQuery) -> tuple[sql.Composed, list[object]]:
    row_key = sql.Identifier(ROW_KEY)
    date = sql.Identifier(table.date_column) if table.date_column is not None else None
    conditions: list[sql.Composable] = []
    params: list[object] = []
    if query.from_date is not None and date is not None:
        conditions.append(sql.SQL("{} >= %s").format(date))
        params.append(query.from_date)
    if query.user_id is not None and table.user_column is not None:
        conditions.append(sql.SQL("{}::text = %s").format(sql.Identifier(table.user_column)))
        params.append(query.user_id)
    if query.after is not None:
        if date is None:
            conditions.append(sql.SQL("{} < %s").format(row_key))
            params.append(query.after.row)
        elif query.after.date is None:
            conditions.append(sql.SQL("{} IS NULL AND {} < %s").format(date, row_key))
            params.append(query.after.row)
        else:
            conditions.append(
                sql.SQL("(({}, {}) < (%s, %s) OR {} IS NULL)").format(date, row_key, date)
            )
            params.extend([query.after.date, query.after.row])
    order = sql.SQL("{} DESC").format(row_key)
    if date is not None:
        order = sql.SQL("{} DESC NULLS LAST, {}").format(date, order)
    statement = sql.SQL("SELECT {}, {} FROM {} {} ORDER BY {} LIMIT %s").format(
        row_key,
        sql.SQL(", ").join(sql.Identifier(column.name) for column in table.columns),
        sql.Identifier(DATA_SCHEMA, str(table.name)),
        sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL(""),
        order,
    )
    params.append(query.limit + 1)
    return statement, params
