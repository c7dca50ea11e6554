from __future__ import annotations

from domain.tables.errors import MalformedSource, TableNotFound
from domain.tables.model import ReloadFailure, ServedTable, TableName
from domain.tables.ports import ProgressCallback, TableCatalog, TableLoader, TableSources


class LoadTable:
    """Makes sure a table is in the database and matches its CSV file.

    - A table is loaded the first time it is asked for; the loader makes that happen once.
    - A CSV file whose size or modification time changed since its load is reloaded.
    - When a reload fails, the previously loaded version keeps being served, and the failure
      comes with it so that readers can say so (unless the caller asks for the failure
      itself, as an eager load does).
    - A table whose CSV file was removed keeps being served from the database.
    - An unknown name is reported with the list of known tables.
    """

    def __init__(self, sources: TableSources, catalog: TableCatalog, loader: TableLoader) -> None:
        self._sources = sources
        self._catalog = catalog
        self._loader = loader

    async def __call__(
        self,
        table_name: str,
        *,
        progress: ProgressCallback | None = None,
        keep_serving_on_failure: bool = True,
    ) -> ServedTable:
        name = TableName(table_name)
        source = await self._sources.find(name)
        loaded = await self._catalog.get(name)
        if source is None:
            if loaded is None:
                raise TableNotFound(table_name, await self._known_names())
            return ServedTable(table=loaded)
        if loaded is not None and loaded.fingerprint.same_stat(source.fingerprint):
            return ServedTable(table=loaded)
        try:
            return ServedTable(table=await self._loader.load(source, progress=progress))
        except MalformedSource as error:
            if loaded is None or not keep_serving_on_failure:
                raise
            failure = ReloadFailure(
                message=error.detail,
                file_name=error.file_name,
                line=error.line,
                column=error.column,
            )
            return ServedTable(table=loaded, reload_failure=failure)

    async def _known_names(self) -> list[str]:
        names = {str(source.table) for source in await self._sources.list()}
        names.update(str(table.name) for table in await self._catalog.list())
        return sorted(names)
