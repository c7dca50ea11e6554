"""Versioned schema migrations: numbered SQL files applied in order, once, at start.

`NNNN_name.sql` files in this package are the schema's history. `migrate` applies those a
database has not had yet, in one transaction under an advisory lock (concurrent starts
queue up, and a failed migration leaves the schema as it was), and records each in
`experiments.schema_migrations` with a checksum: a migration edited after it was applied is
an error, not silent drift. A database of the first release, which created its schema
without this table, is recognised and taken to be at version 1. See
docs/adr/0007-versioned-migrations.md.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.errors import database_errors
from adapters.postgres.locks import SCHEMA_LOCK
from adapters.postgres.pool import BOUNDED_LOCK_WAIT, UNBOUNDED_LOCK_WAIT, UNBOUNDED_STATEMENT

_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")

BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS experiments;
CREATE TABLE IF NOT EXISTS experiments.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""
"""The one table that must exist before the history can be read."""


class MigrationError(RuntimeError):
    """The database's schema history does not match this code's."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations() -> list[Migration]:
    """Every migration of this package, in order; their numbers run 1, 2, 3 ... without gaps."""
    found = []
    for entry in resources.files(__package__).iterdir():
        if match := _FILE_NAME.fullmatch(entry.name):
            found.append(
                Migration(version=int(match[1]), name=match[2], sql=entry.read_text("utf-8"))
            )
    found.sort(key=lambda migration: migration.version)
    if [migration.version for migration in found] != list(range(1, len(found) + 1)):
        raise MigrationError(f"migrations are not numbered 1 to {len(found)} without gaps")
    return found


async def migrate(pool: AsyncConnectionPool) -> list[int]:
    """Brings the schema up to date; returns the versions applied now. Safe to run
    concurrently from many processes."""
    history = migrations()
    async with database_errors(), pool.connection() as conn, conn.transaction():
        # Concurrent starts queue here; a migration runs as long as it needs.
        await conn.execute(UNBOUNDED_STATEMENT)
        await conn.execute(UNBOUNDED_LOCK_WAIT)
        await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (SCHEMA_LOCK,))
        await conn.execute(BOUNDED_LOCK_WAIT)
        first_release = await _has_first_release_schema(conn)
        await conn.execute(BOOTSTRAP)
        applied = await _applied(conn)
        if not applied and first_release:
            await _record(conn, history[0])
            applied = {history[0].version: history[0].checksum}
        for version, checksum in applied.items():
            if version > len(history):
                raise MigrationError(
                    f"the database is at schema version {max(applied)}, newer than this "
                    f"code's {len(history)}: run a newer release"
                )
            if history[version - 1].checksum != checksum:
                raise MigrationError(
                    f"migration {version} ({history[version - 1].name}) was changed after it "
                    "was applied; add a new migration instead"
                )
        pending = [migration for migration in history if migration.version not in applied]
        for migration in pending:
            await conn.execute(migration.sql.encode())
            await _record(conn, migration)
    return [migration.version for migration in pending]


async def _has_first_release_schema(conn: AsyncConnection) -> bool:
    cur = await conn.execute(
        "SELECT to_regclass('experiments.jobs') IS NOT NULL"
        " AND to_regclass('experiments.schema_migrations') IS NULL"
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def _applied(conn: AsyncConnection) -> dict[int, str]:
    cur = await conn.execute("SELECT version, checksum FROM experiments.schema_migrations")
    return dict(await cur.fetchall())


async def _record(conn: AsyncConnection, migration: Migration) -> None:
    await conn.execute(
        "INSERT INTO experiments.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
        (migration.version, migration.name, migration.checksum),
    )
