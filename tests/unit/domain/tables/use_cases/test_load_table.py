from __future__ import annotations

import pytest

from domain.tables.errors import InvalidTableName, MalformedSource, TableNotFound
from domain.tables.model import TableName
from domain.tables.use_cases.load_table import LoadTable
from tests.support.fakes import InMemoryTableLoader, InMemoryTables, InMemoryTableSources

BROKEN = "id,a\n1\n"
"""Line 2 lacks its column a."""


@pytest.fixture
def tables() -> InMemoryTables:
    return InMemoryTables()


@pytest.fixture
def sources(tables: InMemoryTables) -> InMemoryTableSources:
    return tables.sources


@pytest.fixture
def loader(tables: InMemoryTables) -> InMemoryTableLoader:
    return tables.loader


@pytest.fixture
def load_table(tables: InMemoryTables) -> LoadTable:
    return LoadTable(tables.sources, tables.catalog, tables.loader)


async def test_loads_a_table_the_first_time_it_is_asked_for(
    load_table: LoadTable, sources: InMemoryTableSources, loader: InMemoryTableLoader
) -> None:
    sources.put("df_sales")

    table = (await load_table("df_sales")).table

    assert table.name == TableName("df_sales")
    assert loader.loads == [TableName("df_sales")]


async def test_does_not_reload_an_unchanged_file(
    load_table: LoadTable, sources: InMemoryTableSources, loader: InMemoryTableLoader
) -> None:
    sources.put("df_sales")
    await load_table("df_sales")
    await load_table("df_sales")

    assert loader.loads == [TableName("df_sales")]


async def test_reloads_a_file_whose_size_or_mtime_changed(
    load_table: LoadTable, sources: InMemoryTableSources, loader: InMemoryTableLoader
) -> None:
    sources.put("df_sales", "id\n1\n", size=100, mtime_ns=1)
    await load_table("df_sales")
    sources.put("df_sales", "id\n2\n", size=100, mtime_ns=2)

    table = (await load_table("df_sales")).table

    assert table.version == 2
    assert len(loader.loads) == 2


async def test_keeps_serving_the_previous_version_when_a_reload_fails(
    load_table: LoadTable, sources: InMemoryTableSources, loader: InMemoryTableLoader
) -> None:
    sources.put("df_sales", mtime_ns=1)
    first = await load_table("df_sales")
    sources.put("df_sales", BROKEN, mtime_ns=2)

    served = await load_table("df_sales")

    assert served.table == first.table
    assert served.reload_failure is not None
    assert (served.reload_failure.file_name, served.reload_failure.line) == ("df_sales.csv", 2)
    assert served.reload_failure.column == "a"


async def test_reports_a_malformed_file_that_was_never_loaded(
    load_table: LoadTable, sources: InMemoryTableSources, loader: InMemoryTableLoader
) -> None:
    sources.put("broken", BROKEN)

    with pytest.raises(MalformedSource, match=r"broken\.csv, line 2, column 'a'"):
        await load_table("broken")


async def test_keeps_serving_a_table_whose_file_was_removed(
    load_table: LoadTable, sources: InMemoryTableSources
) -> None:
    sources.put("gone")
    loaded = await load_table("gone")
    sources.remove("gone")

    assert await load_table("gone") == loaded


@pytest.mark.parametrize("name", ["  ", "é" * 100, "50%off", "{x}", 'say "hi"', "a;b"])
async def test_any_other_name_is_a_name_which_no_file_may_have(
    load_table: LoadTable, name: str
) -> None:
    with pytest.raises(TableNotFound):
        await load_table(name)


async def test_lists_known_tables_when_the_name_is_unknown(
    load_table: LoadTable, sources: InMemoryTableSources
) -> None:
    sources.put("df_sales")
    sources.put("df_sales_detail")

    with pytest.raises(TableNotFound) as raised:
        await load_table("df_users")

    assert raised.value.known == ("df_sales", "df_sales_detail")
    assert "df_sales, df_sales_detail" in raised.value.detail


@pytest.mark.parametrize(
    "name",
    ["", "../etc/passwd", "a/b", "a\\b", ".hidden", "x\x00y", "tab\there", "bell\x07"],
)
async def test_refuses_names_that_cannot_be_a_file_stem(load_table: LoadTable, name: str) -> None:
    with pytest.raises(InvalidTableName) as raised:
        await load_table(name)

    assert raised.value.parameter == "table_name"


async def test_an_eager_load_hears_about_a_failed_reload(
    load_table: LoadTable, sources: InMemoryTableSources, loader: InMemoryTableLoader
) -> None:
    sources.put("df_sales", mtime_ns=1)
    await load_table("df_sales")
    sources.put("df_sales", BROKEN, mtime_ns=2)

    with pytest.raises(MalformedSource):
        await load_table("df_sales", keep_serving_on_failure=False)
