"""In-memory implementations of the domain ports, for use-case tests without I/O. The contract
tests (tests/contract/) hold each to the same assertions as its real adapter."""

from tests.support.fakes.analytics import InMemoryExperimentData
from tests.support.fakes.cache import InMemoryCacheServer, InMemoryLogCache
from tests.support.fakes.clock import EPOCH, FakeClock
from tests.support.fakes.health import InMemoryDatabaseProbe
from tests.support.fakes.jobs import (
    InMemoryJobRepository,
    InMemorySweepLock,
    InMemoryTaskQueue,
    InMemoryWorkerProbe,
)
from tests.support.fakes.tables import (
    InMemoryDatabase,
    InMemoryLogReader,
    InMemoryTableCatalog,
    InMemoryTableLoader,
    InMemoryTables,
    InMemoryTableSources,
)

__all__ = [
    "EPOCH",
    "FakeClock",
    "InMemoryCacheServer",
    "InMemoryDatabase",
    "InMemoryDatabaseProbe",
    "InMemoryExperimentData",
    "InMemoryJobRepository",
    "InMemoryLogCache",
    "InMemoryLogReader",
    "InMemorySweepLock",
    "InMemoryTableCatalog",
    "InMemoryTableLoader",
    "InMemoryTableSources",
    "InMemoryTables",
    "InMemoryTaskQueue",
    "InMemoryWorkerProbe",
]
