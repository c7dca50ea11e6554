"""Failed loads, remembered per version of a file so that a broken file is read once."""

from __future__ import annotations

import psycopg
from psycopg import AsyncConnection

from adapters.postgres.errors import beyond_limits
from domain.tables.errors import MalformedSource
from domain.tables.model import Fingerprint, SourceFile

UNSTORABLE = (psycopg.DataError, psycopg.OperationalError)
"""Where PostgreSQL (or psycopg reading back) refuses a file's data; `unstorable` tells which
of them are the content's fault rather than the database's."""


def unstorable(error: BaseException) -> bool:
    """Data PostgreSQL refuses (class 22), or a file beyond its limits (class 54: more than
    1,600 columns, a row too large): the same file will fail the same way, so it is recorded.
    A disk full or a timeout is the server's state, and is not."""
    return isinstance(error, psycopg.DataError) or beyond_limits(error)


def as_malformed(source: SourceFile, error: Exception) -> MalformedSource:
    if isinstance(error, MalformedSource):
        return error
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return MalformedSource(source.file_name, f"PostgreSQL cannot store its data ({reason})")


async def recorded_failure(
    conn: AsyncConnection, name: str, seen: Fingerprint
) -> MalformedSource | None:
    """The error of an earlier attempt on this very version of the file, so it is not re-read."""
    cur = await conn.execute(
        "SELECT source_file, line, column_name, reason FROM experiments.load_errors"
        " WHERE name = %s AND size_bytes = %s AND mtime_ns = %s",
        (name, seen.size, seen.mtime_ns),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    file_name, line, column, reason = row
    return MalformedSource(file_name, reason, line=line, column=column)


async def record_failure(
    conn: AsyncConnection, source: SourceFile, seen: Fingerprint, error: MalformedSource
) -> None:
    await conn.execute(
        """
        INSERT INTO experiments.load_errors
            (name, source_file, size_bytes, mtime_ns, message, line, column_name, reason)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (name) DO UPDATE SET
            source_file = EXCLUDED.source_file, size_bytes = EXCLUDED.size_bytes,
            mtime_ns = EXCLUDED.mtime_ns, message = EXCLUDED.message, line = EXCLUDED.line,
            column_name = EXCLUDED.column_name, reason = EXCLUDED.reason, failed_at = now()
        """,
        (
            source.table.value,
            source.file_name,
            seen.size,
            seen.mtime_ns,
            error.detail,
            error.line,
            error.column,
            error.reason,
        ),
    )


async def forget_failure(conn: AsyncConnection, name: str) -> None:
    await conn.execute("DELETE FROM experiments.load_errors WHERE name = %s", (name,))
