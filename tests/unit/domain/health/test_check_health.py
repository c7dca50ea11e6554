from __future__ import annotations

import pytest

from domain.health.use_cases.check_health import CheckHealth
from domain.shared.errors import DatabaseUnavailable
from tests.support.fakes import InMemoryDatabaseProbe


async def test_health_fails_when_the_database_does_not_answer() -> None:
    await CheckHealth(InMemoryDatabaseProbe(up=True))()
    with pytest.raises(DatabaseUnavailable):
        await CheckHealth(InMemoryDatabaseProbe(up=False))()
