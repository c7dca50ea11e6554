"""Ports of the health context."""

from __future__ import annotations

from typing import Protocol


class DatabaseProbe(Protocol):
    async def ping(self) -> bool:
        """Returns True when the database answers a trivial query."""
        ...
