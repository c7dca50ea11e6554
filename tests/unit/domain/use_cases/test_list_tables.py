from __future__ import annotations

import pytest

from domain.errors import DatabaseUnavailable
from domain.model import LoadState, TableName
from domain.use_cases.check_health import CheckHealth
from domain.use_cases.list_tables import ListTables
from domain.use_cases.load_table import LoadTable
from tests.fakes import (
    InMemoryDatabaseProbe,
    InMemoryTableCatalog,
    InMemoryTableLoader,
    InMemoryTableSources,
)


async def test_tells_the_load_state_of_every_table() -> None:
    sources, catalog = InMemoryTableSources(), InMemoryTableCatalog()
    loader = InMemoryTableLoader(catalog)
    load_table = LoadTable(sources, catalog, loader)
    for name in ("fresh", "stale", "gone", "broken", "new"):
        sources.put(name, mtime_ns=1)
    for name in ("fresh", "stale", "gone"):
        await load_table(name)
    sources.put("stale", mtime_ns=2)
    del sources.files[TableName("gone")]
    loader.broken.add(TableName("broken"))
    with pytest.raises(Exception, match="broken on purpose"):
        await load_table("broken")

    statuses = {str(s.name): s for s in await ListTables(sources, catalog)()}

    assert {name: s.state for name, s in statuses.items()} == {
        "broken": LoadState.FAILED,
        "fresh": LoadState.LOADED,
        "gone": LoadState.SOURCE_MISSING,
        "new": LoadState.NOT_LOADED,
        "stale": LoadState.STALE,
    }
    assert statuses["broken"].error is not None
    assert statuses["new"].loaded is None


async def test_a_failure_of_an_older_version_is_not_reported() -> None:
    sources, catalog = InMemoryTableSources(), InMemoryTableCatalog()
    loader = InMemoryTableLoader(catalog)
    sources.put("t", mtime_ns=1)
    loader.broken.add(TableName("t"))
    with pytest.raises(Exception, match="broken"):
        await LoadTable(sources, catalog, loader)("t")
    sources.put("t", mtime_ns=2)

    [status] = await ListTables(sources, catalog)()

    assert status.state is LoadState.NOT_LOADED
    assert status.error is None


async def test_health_fails_when_the_database_does_not_answer() -> None:
    await CheckHealth(InMemoryDatabaseProbe(up=True))()
    with pytest.raises(DatabaseUnavailable):
        await CheckHealth(InMemoryDatabaseProbe(up=False))()
