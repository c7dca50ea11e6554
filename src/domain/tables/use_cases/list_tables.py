from __future__ import annotations

from domain.tables.model import LoadState, TableStatus
from domain.tables.ports import TableCatalog, TableSources


class ListTables:
    """Lists every table: each CSV file in the data folder and each table loaded from one.

    - A CSV file not yet loaded is listed as `not_loaded`; one changed since its load as `stale`.
    - A table whose latest file failed to load is `failed`; its previous version, if any, is
      still described and served.
    - A loaded table whose file was removed is `source_missing`.
    """

    def __init__(self, sources: TableSources, catalog: TableCatalog) -> None:
        self._sources = sources
        self._catalog = catalog

    async def __call__(self) -> list[TableStatus]:
        sources = {source.table: source for source in await self._sources.list()}
        loaded = {table.name: table for table in await self._catalog.list()}
        errors = await self._catalog.errors()
        statuses = []
        for name in sorted(sources.keys() | loaded.keys(), key=str):
            source, table = sources.get(name), loaded.get(name)
            error = errors.get(name)
            if error is not None and source is not None:
                current = error.fingerprint.same_stat(source.fingerprint)
                error = error if current else None
            if source is None:
                state = LoadState.SOURCE_MISSING
            elif error is not None:
                state = LoadState.FAILED
            elif table is None:
                state = LoadState.NOT_LOADED
            elif table.fingerprint.same_stat(source.fingerprint):
                state = LoadState.LOADED
            else:
                state = LoadState.STALE
            statuses.append(
                TableStatus(name=name, state=state, source=source, loaded=table, error=error)
            )
        return statuses
