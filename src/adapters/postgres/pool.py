"""The connection pool."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool


def create_pool(
    url: str, *, min_size: int = 1, max_size: int = 20, timeout: float = 10.0
) -> AsyncConnectionPool:
    """A closed pool; open it with `await pool.open()`. Sessions speak UTC and ISO dates."""
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
        },
    )
