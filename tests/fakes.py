"""In-memory implementations of the domain ports, for use-case tests without I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from domain.errors import MalformedSource, Overloaded, QueueUnavailable, TableChanged
from domain.job import ACTIVE_STATUSES, Job, JobId, JobsPage, JobStatus, NewJob
from domain.model import (
    Column,
    Fingerprint,
    LoadError,
    LogCursor,
    LogPage,
    LogQuery,
    Row,
    SourceFile,
    TableInfo,
    TableName,
)
from domain.ports.jobs import JobRepository, TaskQueue
from domain.ports.tables import (
    DatabaseProbe,
    LogReader,
    ProgressCallback,
    TableCatalog,
    TableLoader,
    TableSources,
)

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class InMemoryTableSources(TableSources):
    def __init__(self) -> None:
        self.files: dict[TableName, SourceFile] = {}

    def put(self, name: str, *, size: int = 100, mtime_ns: int = 1) -> SourceFile:
        source = SourceFile(
            table=TableName(name),
            file_name=f"{name}.csv",
            fingerprint=Fingerprint(size=size, mtime_ns=mtime_ns),
        )
        self.files[source.table] = source
        return source

    async def find(self, name: TableName) -> SourceFile | None:
        return self.files.get(name)

    async def list(self) -> Sequence[SourceFile]:
        return [self.files[name] for name in sorted(self.files, key=str)]


class InMemoryTableCatalog(TableCatalog):
    def __init__(self) -> None:
        self.tables: dict[TableName, TableInfo] = {}
        self.failures: dict[TableName, LoadError] = {}

    async def get(self, name: TableName) -> TableInfo | None:
        return self.tables.get(name)

    async def list(self) -> Sequence[TableInfo]:
        return [self.tables[name] for name in sorted(self.tables, key=str)]

    async def errors(self) -> dict[TableName, LoadError]:
        return dict(self.failures)


class InMemoryTableLoader(TableLoader):
    """Loads by recording a catalog entry with the columns it was given for each table."""

    def __init__(self, catalog: InMemoryTableCatalog) -> None:
        self.catalog = catalog
        self.columns: dict[TableName, tuple[Column, ...]] = {}
        self.broken: set[TableName] = set()
        self.loads: list[TableName] = []

    async def load(
        self, source: SourceFile, *, progress: ProgressCallback | None = None
    ) -> TableInfo:
        current = self.catalog.tables.get(source.table)
        if current is not None and current.fingerprint.same_stat(source.fingerprint):
            return current
        if source.table in self.broken:
            error = MalformedSource(source.file_name, "broken on purpose", line=2, column="a")
            self.catalog.failures[source.table] = LoadError(
                message=error.detail, fingerprint=source.fingerprint
            )
            raise error
        self.loads.append(source.table)
        if progress is not None:
            progress(source.fingerprint.size)
        columns = self.columns.get(source.table, ())
        table = TableInfo(
            name=source.table,
            source_file=source.file_name,
            fingerprint=replace(source.fingerprint, sha256="0" * 64),
            columns=columns,
            row_count=0,
            date_column=next((c.name for c in columns if c.type.is_temporal), None),
            user_column=next((c.name for c in columns if c.name == "user_id"), None),
            min_date=None,
            max_date=None,
            loaded_at=EPOCH,
            version=current.version + 1 if current else 1,
        )
        self.catalog.tables[source.table] = table
        self.catalog.failures.pop(source.table, None)
        return table


class InMemoryLogReader(LogReader):
    """Reads rows given per table, with the ordering and filters the port promises."""

    def __init__(self) -> None:
        self.rows: dict[TableName, list[Row]] = {}
        self.queries: list[LogQuery] = []
        self.changing = 0
        """How many next reads find the table reloaded under them."""

    async def read(self, table: TableInfo, query: LogQuery) -> LogPage:
        self.queries.append(query)
        if self.changing:
            self.changing -= 1
            raise TableChanged(str(table.name))
        date, user = table.date_column, table.user_column
        keyed = [(row, position) for position, row in enumerate(self.rows[table.name], 1)]
        if query.from_date is not None and date is not None:
            keyed = [
                (row, n)
                for row, n in keyed
                if row[date] is not None and row[date] >= query.from_date  # type: ignore[operator]
            ]
        if query.user_id is not None and user is not None:
            keyed = [(row, n) for row, n in keyed if str(row[user]) == query.user_id]

        def sort_key(item: tuple[Row, int]) -> tuple[bool, object, int]:
            row, position = item
            value = row[date] if date is not None else None
            return (value is not None, value if value is not None else 0, position)

        keyed.sort(key=sort_key, reverse=True)
        if query.after is not None:
            after = sort_key(({date: query.after.date} if date else {}, query.after.row))
            keyed = [item for item in keyed if sort_key(item) < after]
        page = keyed[: query.limit]
        next_cursor = None
        if len(keyed) > query.limit:
            row, position = page[-1]
            next_cursor = LogCursor(date=row[date] if date else None, row=position)  # type: ignore[arg-type]
        return LogPage(table=table, rows=[row for row, _ in page], next_cursor=next_cursor)


class InMemoryDatabaseProbe(DatabaseProbe):
    def __init__(self, *, up: bool = True) -> None:
        self.up = up

    async def ping(self) -> bool:
        return self.up


class InMemoryJobRepository(JobRepository):
    """The job store in a dict, with the same guarded transitions as PostgresJobRepository.

    Its clock starts at EPOCH and moves on by `tick` at every reading, so jobs added one after
    the other are ordered by `created_at`; a zero `tick` leaves the id to break ties.
    """

    def __init__(self, *, tick: dt.timedelta = dt.timedelta(milliseconds=1)) -> None:
        self.jobs: dict[JobId, Job] = {}
        self.now = EPOCH
        self.tick = tick

    def _clock(self) -> dt.datetime:
        self.now += self.tick
        return self.now

    async def add(self, job: NewJob, *, max_active: int) -> tuple[Job, bool]:
        if job.idempotency_key is not None:
            for existing in self.jobs.values():
                if existing.idempotency_key == job.idempotency_key:
                    return existing, False
        active = sum(existing.status in ACTIVE_STATUSES for existing in self.jobs.values())
        if active >= max_active:
            raise Overloaded(
                f"{active} jobs are queued or running, the most allowed; try again later.",
                retry_after=10,
            )
        if job.id in self.jobs:
            raise ValueError(f"duplicate job id {job.id}")
        added = Job(
            id=job.id,
            metric=job.metric,
            status=JobStatus.QUEUED,
            progress=0.0,
            result=None,
            error=None,
            attempts=0,
            cancel_requested=False,
            idempotency_key=job.idempotency_key,
            worker=None,
            created_at=self._clock(),
            started_at=None,
            finished_at=None,
        )
        self.jobs[job.id] = added
        return added, True

    async def get(self, job_id: JobId) -> Job | None:
        return self.jobs.get(job_id)

    async def list(self, *, limit: int, before: JobId | None = None) -> JobsPage:
        def key(job: Job) -> tuple[dt.datetime, JobId]:
            return job.created_at, job.id

        newest_first = sorted(self.jobs.values(), key=key, reverse=True)
        if before is not None:
            # As in SQL, an unknown cursor matches nothing rather than starting over.
            anchor = self.jobs.get(before)
            newest_first = [job for job in newest_first if key(job) < key(anchor)] if anchor else []
        jobs = newest_first[:limit]
        return JobsPage(jobs=jobs, next_cursor=jobs[-1].id if len(newest_first) > limit else None)

    async def start(self, job_id: JobId, *, worker: str, max_attempts: int) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None or job.status not in ACTIVE_STATUSES:
            return job
        now = self._clock()
        if job.cancel_requested:
            started = replace(
                job, status=JobStatus.CANCELLED, error=None, finished_at=now, progress=0.0
            )
        elif job.attempts + 1 > max_attempts:
            error = (
                f"Gave up after {job.attempts} attempts: the worker running it was lost each time."
            )
            started = replace(
                job, status=JobStatus.FAILED, error=error, finished_at=now, progress=0.0
            )
        else:
            started = replace(
                job,
                status=JobStatus.RUNNING,
                attempts=job.attempts + 1,
                error=None,
                started_at=now,
                finished_at=None,
                progress=0.0,
            )
        self.jobs[job_id] = started = replace(started, worker=worker)
        return started

    async def report_progress(self, job_id: JobId, attempt: int, progress: float) -> bool:
        job = self._current(job_id, attempt)
        if job is None:
            return False
        if not 0 <= progress <= 1:
            raise ValueError(f"progress {progress} is outside 0..1")
        self.jobs[job_id] = replace(job, progress=progress)
        return not job.cancel_requested

    async def finish(
        self,
        job_id: JobId,
        attempt: int,
        *,
        result: int | None = None,
        error: str | None = None,
        cancelled: bool = False,
    ) -> Job | None:
        job = self._current(job_id, attempt)
        if job is None:
            return None
        status = (
            JobStatus.CANCELLED
            if cancelled
            else JobStatus.FAILED
            if error is not None
            else JobStatus.SUCCEEDED
        )
        finished = replace(
            job,
            status=status,
            result=result,
            error=error,
            progress=1.0 if status is JobStatus.SUCCEEDED else job.progress,
            finished_at=self._clock(),
        )
        self.jobs[job_id] = finished
        return finished

    async def fail_lost(self, *, running_for: float) -> int:
        now = self._clock()
        lost = [
            job
            for job in self.jobs.values()
            if job.status is JobStatus.RUNNING
            and job.started_at is not None
            and (now - job.started_at).total_seconds() > running_for
        ]
        for job in lost:
            self.jobs[job.id] = replace(
                job,
                status=JobStatus.FAILED,
                error="Lost: its run outlived any time limit, so its worker must be gone.",
                finished_at=now,
            )
        return len(lost)

    async def fail_queued(self, job_id: JobId, error: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None and job.status is JobStatus.QUEUED:
            self.jobs[job_id] = replace(
                job,
                status=JobStatus.FAILED,
                error=error,
                finished_at=self._clock(),
                idempotency_key=None,
            )

    async def cancel(self, job_id: JobId) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None:
            return None
        if job.status is JobStatus.QUEUED:
            job = replace(
                job, status=JobStatus.CANCELLED, cancel_requested=True, finished_at=self._clock()
            )
        elif job.status is JobStatus.RUNNING:
            job = replace(job, cancel_requested=True)
        self.jobs[job_id] = job
        return job

    def _current(self, job_id: JobId, attempt: int) -> Job | None:
        """The job when `attempt` is its running attempt: the fence of progress and finish."""
        job = self.jobs.get(job_id)
        if job is None or job.attempts != attempt or job.status is not JobStatus.RUNNING:
            return None
        return job


class InMemoryTaskQueue(TaskQueue):
    """Records the ids it was given; set `down` to have it refuse them like a lost broker."""

    def __init__(self) -> None:
        self.enqueued: list[JobId] = []
        self.down = False

    async def enqueue(self, job_id: JobId) -> None:
        if self.down:
            raise QueueUnavailable("the broker is unreachable (down on purpose)")
        self.enqueued.append(job_id)
