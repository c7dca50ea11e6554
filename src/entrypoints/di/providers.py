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
    alias,
    decorate,
    from_context,
    make_async_container,
    provide,
    provide_all,
)
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from adapters.caching.catalog_snapshot import AnnouncedTableLoader, SnapshotTableCatalog
from adapters.caching.counters import CacheCounters
from adapters.caching.log_reader import CachedLogReader
from adapters.celery.app import QueueConfig, create_celery
from adapters.celery.task_queue import celery_task_queue
from adapters.csv.sources import FileSystemTableSources
from adapters.local_workers import LocalWorkerProbe
from adapters.logging.jobs import LoggedJobRepository
from adapters.postgres.catalog import CATALOG_CHANNEL, PostgresTableCatalog
from adapters.postgres.experiment_data import PostgresExperimentData
from adapters.postgres.job_census import PostgresJobCensus
from adapters.postgres.job_feed import CHANNEL as JOBS_CHANNEL
from adapters.postgres.job_feed import PostgresJobFeed
from adapters.postgres.job_repository import PostgresJobRepository
from adapters.postgres.loading.loader import PostgresTableLoader
from adapters.postgres.log_reader import PostgresLogReader
from adapters.postgres.migrations import migrate
from adapters.postgres.notifications import PostgresNotifications
from adapters.postgres.pool import SessionLimits, create_pool
from adapters.postgres.probe import PostgresDatabaseProbe
from adapters.postgres.recovery import PostgresRecoveryCounters
from adapters.postgres.sweep_lock import PostgresSweepLock
from adapters.redis.broker import (
    RedisBrokerProbe,
    RedisCacheProbe,
    RedisQueueDepth,
    create_probe_client,
)
from adapters.redis.log_cache import RedisLogCache, create_cache_client
from adapters.system_clock import SystemClock
from domain.analytics.ab_test import AbTestMetric
from domain.analytics.calculate_metric import CalculateMetric
from domain.analytics.ports import ExperimentData
from domain.health.ports import (
    BrokerProbe,
    CacheMonitor,
    CacheProbe,
    DatabaseProbe,
    JobCensus,
    QueueDepth,
)
from domain.health.use_cases.check_cache import CheckCache
from domain.health.use_cases.check_readiness import CheckReadiness
from domain.health.use_cases.collect_metrics import CollectMetrics
from domain.jobs.limits import JobLimits
from domain.jobs.ports import JobFeed, JobRepository, SweepLock, TaskQueue, WorkerProbe
from domain.jobs.use_cases.cancel_job import CancelJob
from domain.jobs.use_cases.get_job_result import GetJobResult
from domain.jobs.use_cases.launch_metric import LaunchMetric
from domain.jobs.use_cases.list_jobs import ListJobs
from domain.jobs.use_cases.list_metrics import ListMetrics
from domain.jobs.use_cases.purge_jobs import PurgeJobs
from domain.jobs.use_cases.recover_jobs import RecoverJobs
from domain.jobs.use_cases.rerun_job import RerunJob
from domain.jobs.use_cases.run_metric import RunMetric
from domain.jobs.use_cases.watch_jobs import WatchJobs
from domain.shared.clock import Clock
from domain.shared.metrics import MetricRegistry
from domain.shared.recovery import RecoveryCounters
from domain.tables.ports import LogCache, LogReader, TableCatalog, TableLoader, TableSources
from domain.tables.use_cases.fetch_logs import FetchLogs
from domain.tables.use_cases.list_tables import ListTables
from domain.tables.use_cases.load_table import LoadTable
from entrypoints.config.settings import Settings


class SettingsProvider(Provider):
    settings = from_context(provides=Settings, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def clock(self) -> Clock:
        return SystemClock()


class PostgresProvider(Provider):
    def __init__(self, *, warm: bool = False) -> None:
        super().__init__()
        self._warm = warm

    @provide(scope=Scope.APP)
    async def pool(self, settings: Settings) -> AsyncIterator[AsyncConnectionPool]:
        database = settings.database
        # The API keeps all its connections open: grown only when a request waits for one
        # (psycopg's way), the pool had 5 after minutes of 32 concurrent requests, and each
        # wait costs a task and a condition. A worker child, one job at a time, opens what
        # it uses.
        pool = create_pool(
            database.url,
            min_size=database.pool_size if self._warm else 1,
            max_size=database.pool_size,
            timeout=database.timeout,
            limits=session_limits(settings),
        )
        await pool.open()
        try:
            await migrate(pool)
            yield pool
        finally:
            await pool.close()

    @provide(scope=Scope.APP)
    def loader(self, pool: AsyncConnectionPool, settings: Settings) -> TableLoader:
        return PostgresTableLoader(pool, settings.data.dir)

    @provide(scope=Scope.APP)
    def probe(self, container: AsyncContainer) -> DatabaseProbe:
        # The pool is got at each ping, so that a database down at start reads as down.
        return PostgresDatabaseProbe(lambda: container.get(AsyncConnectionPool))

    catalog = provide(PostgresTableCatalog, provides=TableCatalog, scope=Scope.APP)
    log_reader = provide(PostgresLogReader, provides=LogReader, scope=Scope.APP)

    @provide(scope=Scope.APP)
    async def notifications(self, settings: Settings) -> AsyncIterator[PostgresNotifications]:
        # One LISTEN connection per process, for the job feed and the catalog snapshot.
        listener = PostgresNotifications(
            settings.database.url,
            channels=(JOBS_CHANNEL, CATALOG_CHANNEL),
            connect_timeout=settings.database.timeout,
        )
        yield listener
        await listener.close()


class FilesProvider(Provider):
    @provide(scope=Scope.APP)
    def sources(self, settings: Settings) -> TableSources:
        return FileSystemTableSources(settings.data.dir)


class JobsProvider(Provider):
    jobs = provide(PostgresJobRepository, provides=JobRepository, scope=Scope.APP)
    sweep_lock = provide(PostgresSweepLock, provides=SweepLock, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def worker_probe(self) -> WorkerProbe:
        return LocalWorkerProbe()

    @decorate
    def logged_jobs(self, jobs: JobRepository) -> JobRepository:
        return LoggedJobRepository(jobs)

    @provide(scope=Scope.APP)
    def job_feed(self, notifications: PostgresNotifications, settings: Settings) -> JobFeed:
        return PostgresJobFeed(notifications, connect_timeout=settings.database.timeout)

    @provide(scope=Scope.APP)
    def celery(self, settings: Settings, limits: JobLimits) -> Celery:
        return create_celery(queue_config(settings, limits))

    @provide(scope=Scope.APP)
    async def task_queue(
        self, app: Celery, settings: Settings, limits: JobLimits
    ) -> AsyncIterator[TaskQueue]:
        async with celery_task_queue(app, queue_config(settings, limits)) as queue:
            yield queue

    @provide(scope=Scope.APP)
    def limits(self, settings: Settings) -> JobLimits:
        return job_limits(settings)

    @provide(scope=Scope.REQUEST)
    def run_metric(
        self,
        jobs: JobRepository,
        limits: JobLimits,
        clock: Clock,
        metrics: MetricRegistry,
        workers: WorkerProbe,
    ) -> RunMetric:
        # Names the process, so an operator (or a fault test) can find a job's worker, and
        # another child of this host can tell that it died (LocalWorkerProbe).
        return RunMetric(
            jobs,
            limits,
            clock,
            metrics,
            workers,
            worker=f"{socket.gethostname()}:{os.getpid()}",
        )


class MetricsProvider(Provider):
    """The metrics jobs can run: the registry the jobs context reads, filled from analytics."""

    experiment_data = provide(PostgresExperimentData, provides=ExperimentData, scope=Scope.APP)

    @provide(scope=Scope.APP)
    def metrics(self, settings: Settings, data: ExperimentData) -> MetricRegistry:
        return MetricRegistry(
            [CalculateMetric(iterations=settings.jobs.metric_iterations), AbTestMetric(data)]
        )


class CacheProvider(Provider):
    """The cache's counters, there with or without a cache (/health reads them)."""

    @provide(scope=Scope.APP)
    def counters(self, settings: Settings) -> CacheCounters:
        return CacheCounters(enabled=bool(settings.cache.url))

    monitor = alias(source=CacheCounters, provides=CacheMonitor)


class PageCacheProvider(Provider):
    """Pages of logs from Redis, around the log reader (only with a CACHE_URL)."""

    @provide(scope=Scope.APP)
    async def log_cache(self, settings: Settings) -> AsyncIterator[LogCache]:
        cache = settings.cache
        client = create_cache_client(cache.url, timeout=cache.timeout)
        redis_cache = RedisLogCache(
            client, ttl=cache.ttl, timeout=cache.timeout, prefix=cache.prefix
        )
        yield redis_cache
        await redis_cache.close()

    @decorate
    def cached_reader(
        self, reader: LogReader, cache: LogCache, counters: CacheCounters, settings: Settings
    ) -> LogReader:
        return CachedLogReader(reader, cache, counters, cooldown=settings.cache.cooldown)


class CatalogSnapshotProvider(Provider):
    """The catalog from memory, dropped at each change PostgreSQL announces (unless
    CATALOG_SNAPSHOT=false)."""

    @decorate
    def snapshot(self, catalog: TableCatalog, notifications: PostgresNotifications) -> TableCatalog:
        snapshot = SnapshotTableCatalog(catalog, current=notifications.is_current)
        notifications.subscribe(
            CATALOG_CHANNEL,
            on_notify=lambda _: snapshot.forget(),
            on_state=lambda _: snapshot.forget(),
        )
        notifications.start()
        return snapshot

    @decorate
    def announced_loader(
        self, loader: TableLoader, notifications: PostgresNotifications
    ) -> TableLoader:
        return AnnouncedTableLoader(
            loader, announce=lambda name: notifications.announce(CATALOG_CHANNEL, name)
        )


class UseCasesProvider(Provider):
    # Use cases hold no state of a request (a connection is taken per port call, ADR 0006), so
    # one of each serves every request: nothing is built per request.
    scope = Scope.APP
    use_cases = provide_all(
        LoadTable,
        FetchLogs,
        ListTables,
        CheckReadiness,
        CheckCache,
        CollectMetrics,
        LaunchMetric,
        GetJobResult,
        ListJobs,
        ListMetrics,
        CancelJob,
        RerunJob,
        PurgeJobs,
        WatchJobs,
        RecoverJobs,
    )


class BrokerClient:
    """The health side's client of the broker's Redis (a type of its own for dishka)."""

    def __init__(self, client: Redis) -> None:
        self.client = client


class HealthProvider(Provider):
    """What readiness and metrics ask: small clients of the broker's and the cache's Redis
    of their own (short timeouts, no retries), and the recovery counters every process
    shares."""

    scope = Scope.APP
    census = provide(PostgresJobCensus, provides=JobCensus)

    @provide
    async def broker_client(self, settings: Settings) -> AsyncIterator[BrokerClient]:
        client = create_probe_client(settings.broker.url)
        yield BrokerClient(client)
        await client.aclose()

    @provide
    def broker_probe(self, broker: BrokerClient) -> BrokerProbe:
        return RedisBrokerProbe(broker.client)

    @provide
    def queue_depth(self, broker: BrokerClient, settings: Settings) -> QueueDepth:
        return RedisQueueDepth(broker.client, settings.broker.queue)

    @provide
    def recovery_counters(self, pool: AsyncConnectionPool) -> RecoveryCounters:
        return PostgresRecoveryCounters(pool)

    @provide
    async def cache_probe(self, settings: Settings) -> AsyncIterator[CacheProbe]:
        if not settings.cache.url:
            yield RedisCacheProbe(None)
            return
        client = create_probe_client(settings.cache.url)
        yield RedisCacheProbe(client)
        await client.aclose()


def job_limits(settings: Settings) -> JobLimits:
    jobs = settings.jobs
    return JobLimits(
        max_active=jobs.max_active,
        max_attempts=jobs.max_attempts,
        time_limit=jobs.time_limit,
        lease=jobs.lease,
        republish_after=jobs.republish_after,
        progress_interval=jobs.progress_interval,
    )


def session_limits(settings: Settings) -> SessionLimits:
    database = settings.database
    return SessionLimits(
        statement_timeout=database.statement_timeout,
        lock_timeout=database.lock_timeout,
        idle_in_transaction_timeout=database.idle_in_transaction_timeout,
    )


def queue_config(settings: Settings, limits: JobLimits) -> QueueConfig:
    return QueueConfig(
        broker_url=settings.broker.url,
        queue=settings.broker.queue,
        kill_after=limits.kill_after,
        shutdown_grace=settings.worker.shutdown_grace,
    )


def get_providers(*, serving: bool = False) -> list[Provider]:
    """The service's providers; `serving` for the API's process (its pool kept full)."""
    return [
        SettingsProvider(),
        PostgresProvider(warm=serving),
        FilesProvider(),
        JobsProvider(),
        CacheProvider(),
        HealthProvider(),
        MetricsProvider(),
        UseCasesProvider(),
    ]


def caching_providers(settings: Settings) -> list[Provider]:
    """The decorators that cache, as the settings ask (after the providers they decorate)."""
    providers: list[Provider] = []
    if settings.cache.url:
        providers.append(PageCacheProvider())
    if settings.cache.catalog_snapshot:
        providers.append(CatalogSnapshotProvider())
    return providers


def make_container(settings: Settings, *extra: Provider, serving: bool = False) -> AsyncContainer:
    return make_async_container(
        *get_providers(serving=serving),
        *caching_providers(settings),
        *extra,
        context={Settings: settings},
    )
