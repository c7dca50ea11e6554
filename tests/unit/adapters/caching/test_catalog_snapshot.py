"""The catalog from memory: read once, dropped at every change, and never trusted while
changes may go unheard."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest

from adapters.caching.catalog_snapshot import AnnouncedTableLoader, SnapshotTableCatalog
from domain.tables.errors import MalformedSource
from domain.tables.model import Fingerprint, LoadError, TableInfo, TableName
from tests.support.fakes import InMemoryTables
from tests.support.fakes.tables import InMemoryDatabase, InMemoryTableCatalog

T = TableName("t")


class CountingCatalog(InMemoryTableCatalog):
    """Counts its reads; with `hold`, a get reads at once but answers only once it is set."""

    def __init__(self, database: InMemoryDatabase) -> None:
        super().__init__(database)
        self.reads = 0
        self.hold: asyncio.Event | None = None

    async def get(self, name: TableName) -> TableInfo | None:
        self.reads += 1
        answer = await super().get(name)
        if self.hold is not None:
            await self.hold.wait()
        return answer

    async def list(self) -> Sequence[TableInfo]:
        self.reads += 1
        return await super().list()

    async def errors(self) -> dict[TableName, LoadError]:
        self.reads += 1
        return await super().errors()


@dataclass
class Setup:
    tables: InMemoryTables
    catalog: CountingCatalog
    snapshot: SnapshotTableCatalog
    current: list[bool]

    async def load(self, text: str, mtime_ns: int) -> TableInfo:
        return await self.tables.loader.load(self.tables.sources.put("t", text, mtime_ns=mtime_ns))


@pytest.fixture
async def setup() -> Setup:
    tables = InMemoryTables()
    catalog = CountingCatalog(tables.database)
    current = [True]
    snapshot = SnapshotTableCatalog(catalog, current=lambda: current[0])
    setup = Setup(tables, catalog, snapshot, current)
    await setup.load("x\n1\n", 1)
    return setup


async def test_the_catalog_is_read_once_while_nothing_changes(setup: Setup) -> None:
    answers = [await setup.snapshot.get(T) for _ in range(3)]
    listed = [await setup.snapshot.list() for _ in range(3)]
    errors = [await setup.snapshot.errors() for _ in range(3)]

    assert answers == [setup.tables.database.tables[T]] * 3
    assert listed == [[setup.tables.database.tables[T]]] * 3
    assert errors == [{}] * 3
    assert setup.catalog.reads == 3


async def test_a_change_announced_is_read_at_the_next_call(setup: Setup) -> None:
    before = await setup.snapshot.get(T)
    await setup.snapshot.list()
    after = await setup.load("x\n2\n", 2)

    setup.snapshot.forget()

    assert before is not None
    assert after.version == before.version + 1
    assert await setup.snapshot.get(T) == after
    assert await setup.snapshot.list() == [after]


async def test_while_changes_may_go_unheard_every_call_reads_the_catalog(setup: Setup) -> None:
    await setup.snapshot.get(T)
    setup.current[0] = False
    after = await setup.load("x\n2\n", 2)

    got = await setup.snapshot.get(T)
    failure = LoadError(message="broken", fingerprint=Fingerprint(size=1, mtime_ns=3))
    setup.tables.database.failures[T] = failure

    assert got == after
    assert await setup.snapshot.errors() == {T: failure}
    reads = setup.catalog.reads
    await setup.snapshot.get(T)
    assert setup.catalog.reads == reads + 1


async def test_an_answer_read_while_changes_could_go_unheard_is_not_kept(setup: Setup) -> None:
    setup.current[0] = False
    await setup.snapshot.get(T)
    setup.current[0] = True
    reads = setup.catalog.reads

    await setup.snapshot.get(T)
    await setup.snapshot.get(T)

    assert setup.catalog.reads == reads + 1


async def test_an_answer_read_before_a_change_is_never_kept_after_it(setup: Setup) -> None:
    setup.catalog.hold = asyncio.Event()
    reading = asyncio.create_task(setup.snapshot.get(T))
    await asyncio.sleep(0)
    old = setup.tables.database.tables[T]
    new = replace(old, version=old.version + 1)
    setup.tables.database.tables[T] = new
    setup.snapshot.forget()
    setup.catalog.hold.set()

    answered = await reading
    setup.catalog.hold = None

    assert answered == old
    assert await setup.snapshot.get(T) == new


async def test_callers_get_copies_they_cannot_change_the_snapshot_through(setup: Setup) -> None:
    listed = await setup.snapshot.list()
    errors = await setup.snapshot.errors()
    listed.clear()  # type: ignore[attr-defined]
    errors[T] = LoadError(message="x", fingerprint=Fingerprint(size=1, mtime_ns=1))

    assert len(await setup.snapshot.list()) == 1
    assert await setup.snapshot.errors() == {}


async def test_a_load_of_this_process_announces_itself_when_it_ends_even_failed() -> None:
    tables = InMemoryTables()
    announced: list[str] = []
    loader = AnnouncedTableLoader(tables.loader, announce=announced.append)
    good = tables.sources.put("t", "x\n1\n")
    bad = tables.sources.put("u", "x,y\n1\n")

    await loader.load(good)
    with pytest.raises(MalformedSource):
        await loader.load(bad)

    assert announced == ["t", "u"]
