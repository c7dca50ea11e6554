"""Building a loaded table in PostgreSQL: staged as text through COPY, then typed and indexed.

The rows stream into a temporary all-text table; the typed table is then built in SQL from
the inferred types (PostgreSQL converts every value), and indexed so that every logs query is
an index scan in the order it returns rows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import BinaryIO

from psycopg import AsyncConnection, sql

from adapters.csv.reader import CsvReader
from adapters.postgres.schema import DATA_SCHEMA, ROW_KEY
from adapters.postgres.types import POSTGRES_LIMITS, SQL_TYPE, WHITESPACE
from domain.tables.inference import (
    TWO_DIGIT_YEAR_PIVOT,
    InferredColumn,
    TemporalFormat,
    normalize_headers,
)
from domain.tables.model import Column, ColumnType, FileFormat, Fingerprint
from domain.tables.ports import ProgressCallback


@dataclass(slots=True)
class Staged:
    """What the pass over the file learned."""

    columns: list[Column]
    inferred: list[InferredColumn]
    rows: int
    fingerprint: Fingerprint
    file_format: FileFormat
    table: str
    """The staging table, temporary, all text."""


async def stage(
    conn: AsyncConnection,
    *,
    staging: str,
    file_name: str,
    file: BinaryIO,
    file_format: FileFormat,
    progress: ProgressCallback | None,
) -> Staged:
    """Streams the file's rows into a new temporary table `staging`, every column text."""
    reader = CsvReader(file_name, file, POSTGRES_LIMITS, file_format)
    header = await asyncio.to_thread(reader.header)
    names = list(
        normalize_headers(header, max_bytes=POSTGRES_LIMITS.identifier_bytes, reserved=(ROW_KEY,))
    )
    await conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ({} bigint, {}) ON COMMIT DROP").format(
            sql.Identifier(staging),
            sql.Identifier(ROW_KEY),
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(n)) for n in names),
        )
    )
    copy_sql = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(staging))
    chunks = reader.chunks(names)
    async with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            await copy.write(chunk)
            if progress is not None:
                progress(reader.bytes_read_since_last_call())
    inferred = reader.inferred()
    columns = [Column(name=n, type=i.type) for n, i in zip(names, inferred, strict=True)]
    return Staged(
        columns=columns,
        inferred=inferred,
        rows=reader.rows,
        fingerprint=reader.fingerprint(),
        file_format=file_format,
        table=staging,
    )


@dataclass(slots=True)
class Built:
    """A typed table made from a file, not yet indexed nor in service."""

    table: str
    columns: list[Column]
    inferred: list[InferredColumn]
    rows: int
    fingerprint: Fingerprint
    file_format: FileFormat


async def build_typed_table(
    conn: AsyncConnection, staging: str, target: str, staged: Staged
) -> None:
    """Creates `target` in the data schema from `staging`, each column converted."""
    converted = [
        sql.SQL("{} AS {}").format(_conversion(sql.Identifier(c.name), i), sql.Identifier(c.name))
        for c, i in zip(staged.columns, staged.inferred, strict=True)
    ]
    await conn.execute(
        sql.SQL("CREATE TABLE {} AS SELECT {}, {} FROM {}").format(
            sql.Identifier(DATA_SCHEMA, target),
            sql.Identifier(ROW_KEY),
            sql.SQL(", ").join(converted),
            sql.Identifier(staging),
        )
    )


def _conversion(column: sql.Identifier, inferred: InferredColumn) -> sql.Composable:
    """SQL that turns a column's raw text into its inferred type (blank cells become NULL)."""
    if inferred.type is ColumnType.TEXT:
        return column
    value: sql.Composable = sql.SQL("NULLIF(btrim({}, {}), '')").format(
        column, sql.Literal(WHITESPACE)
    )
    if inferred.decimal_comma:
        value = sql.SQL("replace({}, ',', '.')").format(value)
    fmt = inferred.temporal_format
    if fmt is not None and not fmt.is_iso:
        value = _iso_date(value, fmt)
    return sql.SQL("({})::{}").format(value, sql.SQL(SQL_TYPE[inferred.type]))


def _iso_date(value: sql.Composable, fmt: TemporalFormat) -> sql.Composable:
    """`value` with its leading date part rewritten to ISO `Y-M-D`, which PostgreSQL reads
    whatever its DateStyle; a two-digit year gets its century (`full_year`)."""
    assert fmt.date_part is not None
    assert fmt.field_order is not None
    group = {field: position for position, field in enumerate(fmt.field_order, 1)}
    rewritten = sql.SQL("regexp_replace({}, {}, {})").format(
        value,
        sql.Literal(r"^\s*" + fmt.date_part),
        sql.Literal(rf"\{group['year']}-\{group['month']}-\{group['day']}"),
    )
    if fmt.year_digits == 4:
        return rewritten
    # `YY-M-D...` now: put the century in front, by the same pivot as the inference's.
    year = fmt.date_part.replace(r"(\d{1,2})", r"\d{1,2}")
    return sql.SQL("CASE WHEN substring({} from {}) < {} THEN '20' ELSE '19' END || {}").format(
        value,
        sql.Literal(r"^\s*" + year),
        sql.Literal(f"{TWO_DIGIT_YEAR_PIVOT:02d}"),
        rewritten,
    )


async def finish(
    conn: AsyncConnection, table: str, date_column: str | None, user_column: str | None
) -> None:
    """The primary key on the file position, and the indexes that make every logs query an
    index scan in the order it returns rows; then the statistics for the planner.

    The user index compares ids in the "C" collation: a filter is equality only, which every
    deterministic collation answers alike, and it builds in half the time.
    """
    target = sql.Identifier(DATA_SCHEMA, table)
    await conn.execute(
        sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(INDEX_MEMORY))
    )
    await conn.execute(
        sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(target, sql.Identifier(ROW_KEY))
    )
    order = sql.SQL("{} DESC").format(sql.Identifier(ROW_KEY))
    if date_column is not None:
        order = sql.SQL("{} DESC NULLS LAST, {}").format(sql.Identifier(date_column), order)
        await conn.execute(sql.SQL("CREATE INDEX ON {} ({})").format(target, order))
    if user_column is not None:
        await conn.execute(
            sql.SQL("CREATE INDEX ON {} ({}, {})").format(
                target, user_key(sql.Identifier(user_column)), order
            )
        )
    await conn.execute(sql.SQL("ANALYZE {}").format(target))


def user_key(column: sql.Composable) -> sql.Composable:
    """The expression the user index is built on, and the logs query filters by."""
    return sql.SQL('(({}::text) COLLATE "C")').format(column)


INDEX_MEMORY = "256MB"
"""Memory for each index build: enough to sort millions of keys without spilling to disk."""


async def date_range(
    conn: AsyncConnection, table: str, date_column: str | None
) -> tuple[str | None, str | None]:
    """The earliest and latest date of the date column, ISO 8601."""
    if date_column is None:
        return None, None
    column = sql.Identifier(date_column)
    cur = await conn.execute(
        sql.SQL("SELECT min({}), max({}) FROM {}").format(
            column, column, sql.Identifier(DATA_SCHEMA, table)
        )
    )
    row = await cur.fetchone()
    assert row is not None
    low, high = row
    return (
        low.isoformat() if low is not None else None,
        high.isoformat() if high is not None else None,
    )
