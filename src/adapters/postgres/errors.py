from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import psycopg_pool

from domain.shared.errors import DatabaseUnavailable


@asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Reports a database that cannot be reached as the domain's DatabaseUnavailable."""
    try:
        yield
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as error:
        raise DatabaseUnavailable(f"PostgreSQL is unavailable: {error}") from error
