"""What the HTTP API sends: msgspec structs, shaped from domain objects at the edge."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from domain.health.model import CacheStats, Readiness
from domain.jobs.model import Job, JobsPage, JobStatus
from domain.shared.metrics import Metric, MetricResult
from domain.tables.logs import PAGE_SIZE, LogPage, Records, Row, encode_cursor
from domain.tables.model import Column, LoadState, TableStatus


class ColumnSchema(Struct, frozen=True):
    name: str
    type: Annotated[
        str,
        Meta(
            description="PostgreSQL type inferred from the CSV data",
            examples=["bigint", "numeric", "boolean", "date", "timestamp", "timestamptz", "text"],
        ),
    ]

    @classmethod
    def of(cls, column: Column) -> ColumnSchema:
        return cls(name=column.name, type=column.type.value)


class ReloadFailureSchema(Struct, frozen=True):
    detail: Annotated[str, Meta(description="What is wrong with the current file, and where")]
    file: str
    line: int | None
    column: str | None


class LogsResponse(Struct, frozen=True):
    table: str
    version: Annotated[
        int,
        Meta(description="The version of the table these rows come from (see GET /tables)"),
    ]
    reload_failure: Annotated[
        ReloadFailureSchema | None,
        Meta(
            description="Set when the table's current CSV file could not be loaded: the rows "
            "come from the previous version, `version`, until the file is fixed"
        ),
    ]
    date_column: Annotated[
        str | None, Meta(description="The column records are ordered by, newest first")
    ]
    user_column: Annotated[str | None, Meta(description="The column `user_id` filters on")]
    columns: list[ColumnSchema]
    rows: Annotated[
        list[dict[str, Any]],
        Meta(
            description="Records keyed by column name; numbers as JSON numbers, dates and "
            "timestamps as ISO 8601 strings, blank cells as null"
        ),
    ]
    count: Annotated[int, Meta(description=f"Number of rows in this page (at most {PAGE_SIZE})")]
    has_more: Annotated[bool, Meta(description="Whether older matching records exist")]
    next_cursor: Annotated[
        str | None,
        Meta(description="Pass as `cursor` to get the next older records; null on the last page"),
    ]

    @classmethod
    def of(cls, page: LogPage) -> LogsResponse:
        table = page.table
        failure = page.reload_failure
        return cls(
            table=str(table.name),
            version=table.version,
            reload_failure=ReloadFailureSchema(
                detail=failure.message,
                file=failure.file_name,
                line=failure.line,
                column=failure.column,
            )
            if failure is not None
            else None,
            date_column=table.date_column,
            user_column=table.user_column,
            columns=[ColumnSchema.of(column) for column in table.columns],
            # As they are: `encode_json` writes their Decimals as exact numbers, in one pass.
            rows=record_structs(page.rows),
            count=len(page.rows),
            has_more=page.next_cursor is not None,
            next_cursor=encode_cursor(page.next_cursor) if page.next_cursor else None,
        )


class TableResponse(Struct, frozen=True):
    name: str
    state: Annotated[
        LoadState,
        Meta(
            description="not_loaded: loads on first request; loaded; stale: the CSV changed "
            "and reloads on next request; failed: the current CSV could not be loaded (the "
            "previous version, if any, is served); source_missing: the CSV was removed, the "
            "loaded copy is served"
        ),
    ]
    source_file: str | None
    columns: Annotated[
        list[ColumnSchema] | None, Meta(description="Known once the table is loaded")
    ]
    row_count: int | None
    date_column: str | None
    user_column: str | None
    min_date: Annotated[str | None, Meta(description="Earliest date, ISO 8601")]
    max_date: Annotated[str | None, Meta(description="Latest date, ISO 8601")]
    loaded_at: dt.datetime | None
    version: Annotated[int | None, Meta(description="Increments at each reload")]
    encoding: Annotated[
        str | None,
        Meta(
            description="The encoding the CSV was read in, as Python names it",
            examples=["utf-8", "utf-8-sig", "utf-16", "cp1251", "cp1252"],
        ),
    ]
    delimiter: Annotated[
        str | None, Meta(description="The CSV's field delimiter", examples=[",", ";", "\t", "|"])
    ]
    quote: Annotated[str | None, Meta(description="The CSV's quote character")]
    error: Annotated[str | None, Meta(description="Why the current CSV could not be loaded")]

    @classmethod
    def of(cls, status: TableStatus) -> TableResponse:
        loaded = status.loaded
        file_format = loaded.file_format if loaded else None
        return cls(
            name=str(status.name),
            state=status.state,
            source_file=status.source.file_name if status.source else None,
            columns=[ColumnSchema.of(c) for c in loaded.columns] if loaded else None,
            row_count=loaded.row_count if loaded else None,
            date_column=loaded.date_column if loaded else None,
            user_column=loaded.user_column if loaded else None,
            min_date=loaded.min_date.isoformat() if loaded and loaded.min_date else None,
            max_date=loaded.max_date.isoformat() if loaded and loaded.max_date else None,
            loaded_at=loaded.loaded_at if loaded else None,
            version=loaded.version if loaded else None,
            encoding=file_format.encoding if file_format else None,
            delimiter=file_format.delimiter if file_format else None,
            quote=file_format.quote if file_format else None,
            error=status.error.message if status.error else None,
        )


class TablesResponse(Struct, frozen=True):
    tables: list[TableResponse]


class LaunchRequest(Struct, frozen=True, forbid_unknown_fields=True):
    """A metric to launch, and its parameters."""

    metric: Annotated[
        str,
        Meta(
            description="A metric's name, as `GET /launch/metrics` lists them",
            examples=["ab_test", "calculate_metric"],
        ),
    ]
    params: Annotated[
        dict[str, Any],
        Meta(
            description="The metric's parameters: `GET /launch/metrics` gives each metric's "
            "JSON Schema of them, defaults included"
        ),
    ] = msgspec.field(default_factory=dict)


class LaunchResponse(Struct, frozen=True):
    job_id: uuid.UUID
    status: JobStatus


class MetricResponse(Struct, frozen=True):
    name: str
    description: str
    parameters: Annotated[
        dict[str, Any], Meta(description="The JSON Schema (2020-12) of the metric's parameters")
    ]

    @classmethod
    def of(cls, metric: Metric) -> MetricResponse:
        return cls(
            name=metric.name, description=metric.description, parameters=dict(metric.parameters)
        )


class MetricsResponse(Struct, frozen=True):
    metrics: list[MetricResponse]


class GroupFigures(Struct, frozen=True, kw_only=True):
    """One group of an A/B test."""

    assigned: Annotated[int, Meta(description="Users the assignment table puts in the group")]
    users: Annotated[
        int,
        Meta(
            description="Users analysed: all assigned for sum and count; for mean and ratio, "
            "those with events in the window"
        ),
    ]
    mean: Annotated[float, Meta(description="The group's mean per user; for a ratio, the ratio")]
    std: Annotated[
        float,
        Meta(
            description="Standard deviation per user (for a ratio, of the linearised values): "
            "std / sqrt(users) is the standard error of `mean`"
        ),
    ]
    ci_low: Annotated[float, Meta(description="`mean`'s interval at 1 - alpha")]
    ci_high: float


class DaysSchema(Struct, frozen=True):
    from_date: dt.date
    to_date: dt.date


class CupedFigures(Struct, frozen=True, kw_only=True):
    """The test again on CUPED-adjusted values: Y - theta (X - mean X), X being the same
    aggregate over the pre-period."""

    theta: float
    variance_reduction: Annotated[
        float, Meta(description="1 - var(adjusted) / var(raw), both groups together")
    ]
    pre_period: DaysSchema
    control: GroupFigures
    treatment: GroupFigures
    difference: float
    relative_difference: float | None
    ci_low: float
    ci_high: float
    p_value: float
    standard_error: float
    statistic: float


class AbTestResult(Struct, frozen=True, kw_only=True):
    """What `ab_test` found. Numbers are JSON numbers."""

    test: Annotated[
        Literal["welch_t", "delta_method"],
        Meta(description="Welch's t-test (sum, count, mean) or the delta method (ratio)"),
    ]
    control: GroupFigures
    treatment: GroupFigures
    difference: Annotated[float, Meta(description="treatment mean - control mean")]
    relative_difference: Annotated[
        float | None, Meta(description="difference / control mean; null when that is 0")
    ]
    ci_low: Annotated[float, Meta(description="The difference's interval at 1 - alpha")]
    ci_high: float
    p_value: Annotated[float, Meta(description="Two-sided, for a difference of 0")]
    standard_error: float
    statistic: Annotated[float, Meta(description="t (Welch) or z (delta method)")]
    alpha: float
    srm_p_value: Annotated[
        float, Meta(description="Chi-square test of the assigned users against an even split")
    ]
    srm: Annotated[
        bool,
        Meta(
            description="Sample-ratio mismatch: srm_p_value < srm_threshold; no difference "
            "can then be trusted"
        ),
    ]
    srm_threshold: float
    excluded_users: Annotated[
        int, Meta(description="Users the assignment table puts in both groups: left out")
    ]
    cuped: CupedFigures | None


class JobResponse(Struct, frozen=True):
    job_id: uuid.UUID
    metric: str
    params: Annotated[
        dict[str, Any],
        Meta(description="The metric's parameters as it checked them, every default filled in"),
    ]
    status: Annotated[
        JobStatus,
        Meta(
            description="queued -> running -> succeeded | failed | cancelled; a running job "
            "whose worker was lost goes back to queued, then runs again elsewhere"
        ),
    ]
    progress: Annotated[
        float,
        Meta(
            ge=0,
            le=1,
            description="Fraction done: written at most every 0.2 s for calculate_metric, "
            "at each phase for ab_test",
        ),
    ]
    phase: Annotated[
        str | None,
        Meta(
            description="What the run is doing, for metrics in phases (ab_test: aggregating, "
            "testing); null otherwise"
        ),
    ]
    result: Annotated[
        str | AbTestResult | None,
        Meta(
            description="null until the job succeeded. calculate_metric: the exact result as "
            "a decimal string (it exceeds 2^53 and int64); ab_test: an object",
            examples=["166666091666880000000"],
        ),
    ]
    error: Annotated[str | None, Meta(description="Why the job failed")]
    attempts: Annotated[
        int, Meta(description="Starts on a worker so far: 1, plus one per lost worker")
    ]
    cancel_requested: bool
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    worker: Annotated[str | None, Meta(description="host:pid of the worker running it")]
    rerun_of: Annotated[
        uuid.UUID | None,
        Meta(description="The job this one runs again (`POST /jobs/{job_id}/rerun`), if any"),
    ] = None

    @classmethod
    def of(cls, job: Job) -> JobResponse:
        return cls(
            job_id=job.id,
            metric=job.metric,
            params=job.params,
            status=job.status,
            progress=job.progress,
            phase=job.phase,
            result=_result(job.result),
            error=job.error,
            attempts=job.attempts,
            cancel_requested=job.cancel_requested,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            worker=job.worker,
            rerun_of=job.rerun_of,
        )


class JobsResponse(Struct, frozen=True):
    jobs: list[JobResponse]
    next_cursor: Annotated[
        str | None, Meta(description="Pass as `cursor` for older jobs; null on the last page")
    ]

    @classmethod
    def of(cls, page: JobsPage) -> JobsResponse:
        return cls(
            jobs=[JobResponse.of(job) for job in page.jobs],
            next_cursor=str(page.next_cursor) if page.next_cursor else None,
        )


class CacheResponse(Struct, frozen=True):
    circuit: Annotated[
        Literal["closed", "open"],
        Meta(
            description="open: the cache failed lately and is left alone for a few seconds "
            "(pages come from PostgreSQL), then tried again"
        ),
    ]
    openings: Annotated[int, Meta(description="Times the circuit opened")]
    hits: Annotated[int, Meta(description="Pages served by the cache")]
    misses: Annotated[int, Meta(description="Pages read from PostgreSQL and kept")]
    errors: Annotated[
        int, Meta(description="Pages read from PostgreSQL because the cache failed meanwhile")
    ]
    bypasses: Annotated[
        int, Meta(description="Pages read from PostgreSQL while the circuit was open")
    ]
    coalesced: Annotated[
        int, Meta(description="Reads that shared an identical read already under way")
    ]

    @classmethod
    def of(cls, stats: CacheStats) -> CacheResponse:
        return cls(
            circuit="open" if stats.circuit_open else "closed",
            openings=stats.openings,
            hits=stats.hits,
            misses=stats.misses,
            errors=stats.errors,
            bypasses=stats.bypasses,
            coalesced=stats.coalesced,
        )


class HealthResponse(Struct, frozen=True, omit_defaults=True):
    status: Annotated[str, Meta(description="ok: the process answers")]
    cache: Annotated[
        CacheResponse | None,
        Meta(
            description="The page cache of this API process, since it started; absent when "
            "the service runs without one. It never makes the service unhealthy"
        ),
    ] = None


Check = Literal["up", "down", "absent"]


class ReadinessResponse(Struct, frozen=True):
    status: Annotated[
        Literal["ready", "degraded"],
        Meta(description="ready: every service answers; degraded: all but the page cache"),
    ]
    database: Annotated[Check, Meta(description="PostgreSQL")]
    broker: Annotated[Check, Meta(description="The Redis that queues jobs")]
    cache: Annotated[Check, Meta(description="The page cache's Redis; absent without one")]

    @classmethod
    def of(cls, readiness: Readiness) -> ReadinessResponse:
        checks = checks_of(readiness)
        return cls(
            status="degraded" if readiness.degraded else "ready",
            database=checks["database"],
            broker=checks["broker"],
            cache=checks["cache"],
        )


def checks_of(readiness: Readiness) -> dict[str, Check]:
    def check(up: bool | None) -> Check:
        return "absent" if up is None else "up" if up else "down"

    return {
        "database": check(readiness.database),
        "broker": check(readiness.broker),
        "cache": check(readiness.cache),
    }


class ProblemDetails(Struct, frozen=True, omit_defaults=True):
    """An RFC 9457 problem; extension members name what was wrong."""

    title: str
    status: int
    detail: str
    type: str = "about:blank"
    instance: str | None = None
    parameter: str | None = None
    known_tables: list[str] | None = None
    file: str | None = None
    line: int | None = None
    column: str | None = None
    retry_after: int | None = None
    checks: dict[str, str] | None = None


def _result(result: MetricResult | None) -> str | AbTestResult | None:
    if result is None or isinstance(result, int):
        return None if result is None else str(result)
    return msgspec.convert(result, AbTestResult)


def record_structs(rows: Sequence[Row]) -> list[Any]:
    """The rows as msgspec structs of their table's columns when they come as values: built
    and encoded in C, four times faster than dictionaries; any other rows as they are."""
    if not isinstance(rows, Records) or (make := _record_struct(rows.names)) is None:
        return list(rows)
    return [make(*values) for values in rows.values]


_NEEDS_ESCAPING = re.compile(r'["\\\x00-\x1f]')


@lru_cache(maxsize=256)
def _record_struct(names: tuple[str, ...]) -> type[Struct] | None:
    # Field names of any text are not identifiers: the struct's are f0..fn, renamed. msgspec
    # writes renamed names without escaping, so it refuses quotes, backslashes and control
    # characters in them: such tables are written from dictionaries.
    if any(_NEEDS_ESCAPING.search(name) for name in names):
        return None
    fields = [f"f{index}" for index in range(len(names))]
    return msgspec.defstruct(
        "Record",
        [(field, Any) for field in fields],
        rename=dict(zip(fields, names, strict=True)),
    )


JSON_ENCODER = msgspec.json.Encoder(decimal_format="number")
"""Writes Decimals as JSON numbers with every digit they have (Litestar's own encoder writes
them as strings, which a client would have to know to parse)."""


def encode_json(body: Struct) -> bytes:
    """A response body in one pass of msgspec, rows and all."""
    return JSON_ENCODER.encode(body)
