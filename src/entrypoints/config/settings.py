"""Configuration: typed settings per concern, read from environment variables in one place.

Each field names its variable and carries its one default and its limits; `Settings.from_env`
reads them all, and a bad value is an error naming its variable (`SettingsError`). An unset or
empty variable takes its default. The README lists the variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct, field

Positive = Annotated[int, Meta(ge=1)]
Seconds = Annotated[float, Meta(gt=0)]
SecondsOrZero = Annotated[float, Meta(ge=0)]
Url = Annotated[str, Meta(min_length=1)]
Bound = Annotated[float, Meta(ge=0)]
"""Seconds, 0 meaning no limit."""


class SettingsError(ValueError):
    """A variable whose value cannot be used; the message names it."""


class DatabaseSettings(Struct, frozen=True, kw_only=True):
    url: Url = field(default="postgresql://postgres@127.0.0.1:5432/postgres", name="DATABASE_URL")
    pool_size: Positive = field(default=20, name="DATABASE_POOL_SIZE")
    timeout: Seconds = field(default=10.0, name="DATABASE_TIMEOUT")
    """Seconds a request waits for a database connection before answering 503."""
    statement_timeout: Bound = field(default=30.0, name="DATABASE_STATEMENT_TIMEOUT")
    """Seconds a statement may run (loads and analyses are bounded otherwise)."""
    lock_timeout: Bound = field(default=5.0, name="DATABASE_LOCK_TIMEOUT")
    """Seconds a statement may wait for a lock another session holds."""
    idle_in_transaction_timeout: Bound = field(
        default=60.0, name="DATABASE_IDLE_IN_TRANSACTION_TIMEOUT"
    )
    """Seconds a transaction may sit idle before PostgreSQL ends its session."""


class BrokerSettings(Struct, frozen=True, kw_only=True):
    url: Url = field(default="redis://127.0.0.1:6379/0", name="REDIS_URL")
    queue: Annotated[str, Meta(min_length=1)] = field(default="experiments", name="CELERY_QUEUE")


class JobSettings(Struct, frozen=True, kw_only=True):
    max_active: Positive = field(default=100, name="MAX_ACTIVE_JOBS")
    max_attempts: Positive = field(default=3, name="JOB_MAX_ATTEMPTS")
    time_limit: Seconds = field(default=600.0, name="JOB_TIME_LIMIT")
    metric_iterations: Positive = field(default=10**7, name="METRIC_ITERATIONS")
    retention_days: Positive | None = field(default=None, name="JOB_RETENTION_DAYS")
    """Days a finished job is kept; unset: for ever."""
    lease: Annotated[float, Meta(ge=1)] = field(default=30.0, name="JOB_LEASE")
    """Seconds a running job stays its worker's without a write from it (the worker renews it
    every quarter of that); then it is queued again for another worker."""
    sweep_interval: Seconds = field(default=10.0, name="JOB_SWEEP_INTERVAL")
    """Seconds between two rounds of the sweep (run by one worker at a time)."""
    republish_after: Seconds = field(default=30.0, name="JOB_REPUBLISH_AFTER")
    """Seconds a queued job waits for a worker after its message was sent before the sweep
    sends it again (its message may be lost)."""
    progress_interval: Annotated[float, Meta(ge=0)] = field(
        default=0.2, name="JOB_PROGRESS_INTERVAL"
    )
    """Seconds between two progress writes of a run at least; the last is always written."""


class WorkerSettings(Struct, frozen=True, kw_only=True):
    concurrency: Positive = field(
        default_factory=lambda: os.cpu_count() or 1, name="WORKER_CONCURRENCY"
    )
    shutdown_grace: SecondsOrZero = field(default=60.0, name="WORKER_SHUTDOWN_GRACE")
    """Seconds running jobs get to finish when the worker is stopped (SIGQUIT, or SIGTERM
    remapped to it); then they are stopped and their messages handed back to the broker, for
    another attempt. 0: handed back at once. `experiments serve` sets 2."""


class DataSettings(Struct, frozen=True, kw_only=True):
    dir: Path = field(default=Path("data"), name="DATA_DIR")


class CacheSettings(Struct, frozen=True, kw_only=True):
    url: str = field(default="", name="CACHE_URL")
    """The Redis that keeps pages of logs (never the broker's); empty: no page cache."""
    ttl: Seconds = field(default=300.0, name="CACHE_TTL")
    """Seconds a page is kept. Pages are keyed by version, so this only bounds memory."""
    timeout: Annotated[float, Meta(gt=0, le=5)] = field(default=0.1, name="CACHE_TIMEOUT")
    """Seconds any one step of a cache call may take before the page comes from PostgreSQL."""
    cooldown: Seconds = field(default=5.0, name="CACHE_COOLDOWN")
    """Seconds the cache is left alone after it failed, before one read tries it again."""
    prefix: str = field(default="experiments:", name="CACHE_PREFIX")
    """Put before every key, so that several services (or test runs) can share a Redis."""
    catalog_snapshot: bool = field(default=True, name="CATALOG_SNAPSHOT")
    """Keep the catalog in each API process's memory, dropped on every change announced by
    PostgreSQL (false: read it from PostgreSQL on every request)."""


class HttpSettings(Struct, frozen=True, kw_only=True):
    max_header_bytes: Annotated[int, Meta(ge=1024)] = field(
        default=65536, name="HTTP_MAX_HEADER_BYTES"
    )
    """Bytes a request's line and headers may take; past it, a 431 and the connection closed."""
    header_timeout: Seconds = field(default=10.0, name="HTTP_HEADER_TIMEOUT")
    """Seconds a client has to send a request's headers (and an idle new connection its
    first byte) before its connection is closed."""
    keep_alive: Positive = field(default=5, name="HTTP_KEEP_ALIVE")
    """Seconds an idle kept-alive connection is held open between requests."""
    max_connections: Positive = field(default=1000, name="HTTP_MAX_CONNECTIONS")
    """Open connections (and requests) per API process past which uvicorn answers 503."""
    max_streams: Positive = field(default=200, name="EVENTS_MAX_STREAMS")
    """Open `/jobs/events` streams per API process past which a new one is a 503."""
    max_streams_per_client: Positive = field(default=10, name="EVENTS_MAX_STREAMS_PER_CLIENT")
    """Open `/jobs/events` streams per client address past which a new one is a 429."""


class SecuritySettings(Struct, frozen=True, kw_only=True):
    tokens: str = field(default="", name="API_TOKENS")
    """Comma-separated bearer tokens; when any is set, every request that changes something
    (POST /launch, POST /jobs/{id}/cancel) must carry one. Empty: no tokens asked."""

    @property
    def token_list(self) -> tuple[str, ...]:
        return tuple(token.strip() for token in self.tokens.split(",") if token.strip())


class LogSettings(Struct, frozen=True, kw_only=True):
    level: Annotated[str, Meta(pattern="^(?i:debug|info|warning|error|critical)$")] = field(
        default="INFO", name="LOG_LEVEL"
    )


SECTIONS: dict[str, type[Struct]] = {
    "database": DatabaseSettings,
    "broker": BrokerSettings,
    "jobs": JobSettings,
    "worker": WorkerSettings,
    "data": DataSettings,
    "cache": CacheSettings,
    "http": HttpSettings,
    "security": SecuritySettings,
    "log": LogSettings,
}


class Settings(Struct, frozen=True, kw_only=True):
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    data: DataSettings = field(default_factory=DataSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    log: LogSettings = field(default_factory=LogSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Reads every variable; raises SettingsError naming the first one that is wrong."""
        values = {key: value for key, value in environ.items() if value}
        return cls(**{name: _read(section, values) for name, section in SECTIONS.items()})


def variables() -> list[str]:
    """The names of every environment variable the settings read."""
    return [
        info.encode_name
        for section in SECTIONS.values()
        for info in msgspec.structs.fields(section)
    ]


def _read(section: type[Struct], values: Mapping[str, str]) -> Any:
    names = {info.encode_name for info in msgspec.structs.fields(section)}
    try:
        return msgspec.convert(
            {key: value for key, value in values.items() if key in names},
            section,
            strict=False,
            dec_hook=_decode,
        )
    except msgspec.ValidationError as error:
        message, _, where = str(error).rpartition(" - at `$.")
        variable = where.rstrip("`")
        raise SettingsError(f"{variable}={values.get(variable)!r}: {message}") from None


def _decode(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(kind)
