"""Errors of the health context."""

from __future__ import annotations

from domain.health.model import Readiness
from domain.shared.errors import Unavailable


class NotReady(Unavailable):
    """Launching cannot work: PostgreSQL or the broker does not answer."""

    title = "Not ready"

    def __init__(self, readiness: Readiness) -> None:
        down = [
            name
            for name, up in (("PostgreSQL", readiness.database), ("the broker", readiness.broker))
            if not up
        ]
        super().__init__(f"{' and '.join(down)} {'do' if len(down) > 1 else 'does'} not answer.")
        self.readiness = readiness
