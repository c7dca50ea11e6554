"""The connection pool."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool


def create_pool(
    url: str, *, min_size: int = 1, max_size: int = 20, timeout: float = 10.0
) -> AsyncConnectionPool:
    """A closed pool; open it with `await pool.open()`. Sessions speak UTC and ISO dates, and
    are in autocommit: a single statement costs no BEGIN and COMMIT round trips, and what
    must be atomic says so with `conn.transaction()`."""
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        timeout=timeout,
        kwargs={
            "options": "-c TimeZone=UTC -c DateStyle=ISO,YMD",
            "application_name": "experiments",
            "connect_timeout": max(2, round(timeout)),
            "autocommit": True,
        },
    )
