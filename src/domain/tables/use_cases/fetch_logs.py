from __future__ import annotations

import datetime as dt
from dataclasses import replace

from domain.shared.errors import InvalidParameter
from domain.tables.errors import TableChanged
from domain.tables.logs import (
    LogPage,
    LogQuery,
    check_user_id,
    decode_cursor,
    lower_bound,
    parse_from_date,
)
from domain.tables.ports import LogReader
from domain.tables.use_cases.load_table import LoadTable


class FetchLogs:
    """Returns the 100 latest records of a table.

    - Latest means by the table's date column, newest first; records of the same date come in
      reverse file order, so the same request always returns the same rows. A table without a
      date column is read in reverse file order.
    - `from_date` keeps records dated on or after it; `user_id` keeps one user's records,
      compared as text. Asking for a filter the table has no column for is an error.
    - `cursor`, as returned with a page, continues with the next older records.
    - The table is loaded from its CSV file first when needed. When that reload fails, the
      previous version is read and the page says why the current file is not served.
    - A page is all of one version of the table: a read that races with a reload is retried
      once, on the new version.
    """

    def __init__(self, load_table: LoadTable, reader: LogReader) -> None:
        self._load_table = load_table
        self._reader = reader

    async def __call__(
        self,
        table_name: str,
        *,
        from_date: str | None = None,
        user_id: str | None = None,
        cursor: str | None = None,
    ) -> LogPage:
        since = parse_from_date(from_date) if from_date is not None else None
        user = check_user_id(user_id) if user_id is not None else None
        try:
            return await self._read(table_name, since, user, cursor)
        except TableChanged:
            return await self._read(table_name, since, user, cursor)

    async def _read(
        self,
        table_name: str,
        since: dt.date | dt.datetime | None,
        user: str | None,
        cursor: str | None,
    ) -> LogPage:
        served = await self._load_table(table_name)
        table = served.table
        date_column = table.column(table.date_column)
        if since is not None and date_column is None:
            raise InvalidParameter(
                "from_date", f"table {table_name!r} has no date or timestamp column to filter on."
            )
        if user is not None and table.user_column is None:
            raise InvalidParameter("user_id", f"table {table_name!r} has no user_id column.")
        date_type = date_column.type if date_column is not None else None
        query = LogQuery(
            from_date=lower_bound(since, date_type) if since and date_type else None,
            user_id=user,
            after=decode_cursor(cursor, date_type) if cursor is not None else None,
        )
        page = await self._reader.read(table, query)
        if served.reload_failure is None:
            return page
        return replace(page, reload_failure=served.reload_failure)
