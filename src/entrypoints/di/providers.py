"""The composition root: the only place that names concrete adapters."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator

from celery import Celery
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

from adapters.celery.app import QueueConfig, create_celery
from adapters.celery.task_queue import CeleryTaskQueue
from adapters.csv_files import FileSystemTableSources
from adapters.postgres.catalog import PostgresTableCatalog
from adapters.postgres.job_feed import PostgresJobFeed
from adapters.postgres.job_repository import PostgresJobRepository
from adapters.postgres.loader import PostgresTableLoader
from adapters.postgres.log_reader import PostgresLogReader
from adapters.postgres.pool import create_pool, ensure_schema
from adapters.postgres.probe import PostgresDatabaseProbe
from domain.ports.jobs import JobFeed, JobRepository, TaskQueue
from domain.ports.tables import DatabaseProbe, LogReader, TableCatalog, TableLoader, TableSources
from domain.use_cases.cancel_job import CancelJob
from domain.use_cases.check_health import CheckHealth
from domain.use_cases.fetch_logs import FetchLogs
from domain.use_cases.get_job_result import GetJobResult
from domain.use_cases.launch_metric import LaunchLimits, LaunchMetric
from domain.use_cases.list_jobs import ListJobs
from domain.use_cases.list_tables import ListTables
from domain.use_cases.load_table import LoadTable
from domain.use_cases.run_metric import RunLimits, RunMetric
from domain.use_cases.watch_jobs import WatchJobs
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


class JobsProvider(Provider):
    jobs = provide(PostgresJobRepository, provides=JobRepository, scope=Scope.APP)

    @provide(scope=Scope.APP)
    async def job_feed(self, settings: Settings) -> AsyncIterator[JobFeed]:
        feed = PostgresJobFeed(settings.database_url, connect_timeout=settings.database_timeout)
        yield feed
        await feed.close()

    @provide(scope=Scope.APP)
    def celery(self, settings: Settings) -> Celery:
        return create_celery(
            QueueConfig(
                broker_url=settings.redis_url,
                queue=settings.queue_name,
                time_limit=settings.job_time_limit,
            )
        )

    @provide(scope=Scope.APP)
    def task_queue(self, app: Celery) -> TaskQueue:
        return CeleryTaskQueue(app)

    @provide(scope=Scope.APP)
    def launch_limits(self, settings: Settings) -> LaunchLimits:
        return LaunchLimits(
            max_active_jobs=settings.max_active_jobs,
            # The worker's hard limit is a minute past the time limit; another minute of slack.
            lost_after=settings.job_time_limit + 120,
        )

    @provide(scope=Scope.APP)
    def run_limits(self, settings: Settings) -> RunLimits:
        return RunLimits(
            iterations=settings.metric_iterations,
            max_attempts=settings.job_max_attempts,
            time_limit=settings.job_time_limit,
        )

    @provide(scope=Scope.REQUEST)
    def run_metric(self, jobs: JobRepository, limits: RunLimits) -> RunMetric:
        # Names the process, so an operator (or a fault test) can find a job's worker.
        return RunMetric(jobs, limits, worker=f"{socket.gethostname()}:{os.getpid()}")


class UseCasesProvider(Provider):
    scope = Scope.REQUEST
    use_cases = provide_all(
        LoadTable,
        FetchLogs,
        ListTables,
        CheckHealth,
        LaunchMetric,
        GetJobResult,
        ListJobs,
        CancelJob,
        WatchJobs,
    )


def get_providers() -> list[Provider]:
    return [
        SettingsProvider(),
        PostgresProvider(),
        FilesProvider(),
        JobsProvider(),
        UseCasesProvider(),
    ]


def make_container(settings: Settings, *extra: Provider) -> AsyncContainer:
    return make_async_container(*get_providers(), *extra, context={Settings: settings})
