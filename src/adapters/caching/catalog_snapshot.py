"""The catalog kept in this process's memory until it changes, around the real catalog.

`/logs` reads a table's catalog entry on every request (to compare it with the file's stat);
from memory that costs no round trip. What keeps it right: the owner calls `forget()` on every
change of the catalog announced by PostgreSQL (a trigger's NOTIFY at commit) and whenever
the announcing connection is lost or made again; and while `current()` says announcements may
be missed (the connection is down, or proving itself alive), nothing is read from memory or
kept there: every call goes to the catalog. A read that began before a `forget()` is not kept
either, so an answer from before a change can never be stored after it.

A load made by this process announces itself (`AnnouncedTableLoader`) as soon as it ends,
so that the process's next answer is never from before its own load, whose NOTIFY is still on
its way. A file changed on disk is still noticed at once: `LoadTable` compares the entry with the
file's stat on every request, and a mismatch sends it to the loader, which reads the catalog
itself under its lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domain.tables.model import LoadError, SourceFile, TableInfo, TableName
from domain.tables.ports import ProgressCallback, TableCatalog, TableLoader


class SnapshotTableCatalog(TableCatalog):
    def __init__(self, catalog: TableCatalog, *, current: Callable[[], bool]) -> None:
        self._catalog = catalog
        self._current = current
        self._generation = 0
        self._tables: dict[TableName, TableInfo | None] = {}
        self._list: tuple[TableInfo, ...] | None = None
        self._errors: dict[TableName, LoadError] | None = None

    def forget(self) -> None:
        """Drops everything kept, and anything being read now: the catalog changed."""
        self._generation += 1
        self._tables.clear()
        self._list = None
        self._errors = None

    async def get(self, name: TableName) -> TableInfo | None:
        trusted, generation = self._current(), self._generation
        if trusted and name in self._tables:
            return self._tables[name]
        table = await self._catalog.get(name)
        if self._keeps(trusted, generation):
            self._tables[name] = table
        return table

    async def list(self) -> Sequence[TableInfo]:
        trusted, generation = self._current(), self._generation
        if trusted and self._list is not None:
            return list(self._list)
        tables = tuple(await self._catalog.list())
        if self._keeps(trusted, generation):
            self._list = tables
        return list(tables)

    async def errors(self) -> dict[TableName, LoadError]:
        trusted, generation = self._current(), self._generation
        if trusted and self._errors is not None:
            return dict(self._errors)
        errors = await self._catalog.errors()
        if self._keeps(trusted, generation):
            self._errors = dict(errors)
        return errors

    def _keeps(self, trusted: bool, generation: int) -> bool:
        """Whether an answer read from a moment when announcements were current, with no
        change announced since, may be kept."""
        return trusted and generation == self._generation and self._current()


class AnnouncedTableLoader(TableLoader):
    """Tells this process, as soon as one of its loads ends (loaded, found current, or failed),
    that the catalog may have changed."""

    def __init__(self, loader: TableLoader, *, announce: Callable[[str], None]) -> None:
        self._loader = loader
        self._announce = announce

    async def load(
        self, source: SourceFile, *, progress: ProgressCallback | None = None
    ) -> TableInfo:
        try:
            return await self._loader.load(source, progress=progress)
        finally:
            self._announce(str(source.table))
