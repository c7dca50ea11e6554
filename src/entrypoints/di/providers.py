"""The composition root: the only place that names concrete adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import (
    AsyncContainer,
    Provider,
    Scope,
    from_context,
    make_async_container,
    provide,
    provide_all,
)
from psycopg_pool import AsyncConnectionPool

from adapters.csv_files import FileSystemTableSources
from adapters.postgres.catalog import PostgresTableCatalog
from adapters.postgres.loader import PostgresTableLoader
from adapters.postgres.log_reader import PostgresLogReader
from adapters.postgres.pool import create_pool, ensure_schema
from adapters.postgres.probe import PostgresDatabaseProbe
from domain.ports.tables import DatabaseProbe, LogReader, TableCatalog, TableLoader, TableSources
from domain.use_cases.check_health import CheckHealth
from domain.use_cases.fetch_logs import FetchLogs
from domain.use_cases.list_tables import ListTables
from domain.use_cases.load_table import LoadTable
from entrypoints.settings import Settings


class SettingsProvider(Provider):
    settings = from_context(provides=Settings, scope=Scope.APP)


class PostgresProvider(Provider):
    @provide(scope=Scope.APP)
    async def pool(self, settings: Settings) -> AsyncIterator[AsyncConnectionPool]:
        pool = create_pool(
            settings.database_url,
            max_size=settings.database_pool_size,
            timeout=settings.database_timeout,
        )
        await pool.open()
        try:
            await ensure_schema(pool)
            yield pool
        finally:
            await pool.close()

    @provide(scope=Scope.APP)
    def loader(self, pool: AsyncConnectionPool, settings: Settings) -> TableLoader:
        return PostgresTableLoader(pool, settings.data_dir)

    @provide(scope=Scope.APP)
    def probe(self, pool: AsyncConnectionPool) -> DatabaseProbe:
        return PostgresDatabaseProbe(pool)

    catalog = provide(PostgresTableCatalog, provides=TableCatalog, scope=Scope.APP)
    log_reader = provide(PostgresLogReader, provides=LogReader, scope=Scope.APP)


class FilesProvider(Provider):
    @provide(scope=Scope.APP)
    def sources(self, settings: Settings) -> TableSources:
        return FileSystemTableSources(settings.data_dir)


class UseCasesProvider(Provider):
    scope = Scope.REQUEST
    use_cases = provide_all(LoadTable, FetchLogs, ListTables, CheckHealth)


def get_providers() -> list[Provider]:
    return [SettingsProvider(), PostgresProvider(), FilesProvider(), UseCasesProvider()]


def make_container(settings: Settings, *extra: Provider) -> AsyncContainer:
    return make_async_container(*get_providers(), *extra, context={Settings: settings})
