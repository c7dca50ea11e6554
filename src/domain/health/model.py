"""What the health context reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheStats:
    """How the log cache has served this process since it started.

    Each read of a page counts once: served by the cache (`hits`), read from the database and
    kept (`misses`), read from the database because the cache failed while serving it
    (`errors`) or because its circuit was open (`bypasses`), or shared with an identical read
    already under way (`coalesced`).
    """

    circuit_open: bool
    """The cache failed lately: it is left alone for a few seconds, then tried again."""
    openings: int
    """How many times the circuit opened."""
    hits: int
    misses: int
    errors: int
    bypasses: int
    coalesced: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Readiness:
    """Whether each backing service answers; `cache` is None when there is no cache."""

    database: bool
    broker: bool
    cache: bool | None

    @property
    def ready(self) -> bool:
        """Launching and reading work: PostgreSQL and the broker both answer."""
        return self.database and self.broker

    @property
    def degraded(self) -> bool:
        """Ready, but without the cache (pages come from PostgreSQL)."""
        return self.ready and self.cache is False


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceMetrics:
    """What the service reports to monitoring, each None when it cannot be read now."""

    jobs_by_status: dict[str, int] | None
    queue_depth: int | None
    lost_jobs: int | None
    republished_jobs: int | None
    cache: CacheStats | None
