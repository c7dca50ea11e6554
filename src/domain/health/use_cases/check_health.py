from __future__ import annotations

from domain.health.ports import DatabaseProbe
from domain.shared.errors import DatabaseUnavailable


class CheckHealth:
    """The service is healthy when its database answers."""

    def __init__(self, database: DatabaseProbe) -> None:
        self._database = database

    async def __call__(self) -> None:
        if not await self._database.ping():
            raise DatabaseUnavailable("PostgreSQL does not answer.")
