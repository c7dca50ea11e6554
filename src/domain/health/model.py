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
