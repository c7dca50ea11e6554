from __future__ import annotations

from domain.health.ports import DatabaseProbe


class InMemoryDatabaseProbe(DatabaseProbe):
    def __init__(self, *, up: bool = True) -> None:
        self.up = up

    async def ping(self) -> bool:
        return self.up
