from __future__ import annotations

import pytest

from domain.tables.errors import MalformedSource
from domain.tables.model import LoadState
from domain.tables.use_cases.list_tables import ListTables
from domain.tables.use_cases.load_table import LoadTable
from tests.support.fakes import InMemoryTables

BROKEN = "id,a\n1\n"


async def test_tells_the_load_state_of_every_table() -> None:
    tables = InMemoryTables()
    sources, catalog = tables.sources, tables.catalog
    load_table = LoadTable(sources, catalog, tables.loader)
    for name in ("fresh", "stale", "gone", "new"):
        sources.put(name, mtime_ns=1)
    sources.put("broken", BROKEN, mtime_ns=1)
    for name in ("fresh", "stale", "gone"):
        await load_table(name)
    sources.put("stale", mtime_ns=2)
    sources.remove("gone")
    with pytest.raises(MalformedSource, match="broken"):
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
    tables = InMemoryTables()
    sources, catalog = tables.sources, tables.catalog
    sources.put("t", BROKEN, mtime_ns=1)
    with pytest.raises(MalformedSource):
        await LoadTable(sources, catalog, tables.loader)("t")
    sources.put("t", mtime_ns=2)

    [status] = await ListTables(sources, catalog)()

    assert status.state is LoadState.NOT_LOADED
    assert status.error is None
