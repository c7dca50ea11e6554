"""In-memory implementations of the domain ports, for use-case tests without I/O. The contract
tests (tests/contract/) hold each to the same assertions as its real adapter."""

from tests.support.fakes.analytics import InMemoryExperimentData
from tests.support.fakes.cache import InMemoryCacheServer, InMemoryLogCache
from tests.support.fakes.clock import EPOCH, FakeClock
from tests.support.fakes.health import (
    InMemoryBrokerProbe,
    InMemoryCacheProbe,
    InMemoryDatabaseProbe,
    InMemoryJobCensus,
    InMemoryQueueDepth,
)
from tests.support.fakes.jobs import (
    InMemoryJobRepository,
    InMemorySweepLock,
    InMemoryTaskQueue,
    InMemoryWorkerProbe,
)
from tests.support.fakes.recovery import InMemoryRecoveryCounters
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
    "InMemoryBrokerProbe",
    "InMemoryCacheProbe",
    "InMemoryCacheServer",
    "InMemoryDatabase",
    "InMemoryDatabaseProbe",
    "InMemoryExperimentData",
    "InMemoryJobCensus",
    "InMemoryJobRepository",
    "InMemoryLogCache",
    "InMemoryLogReader",
    "InMemoryQueueDepth",
    "InMemoryRecoveryCounters",
    "InMemorySweepLock",
    "InMemoryTableCatalog",
    "InMemoryTableLoader",
    "InMemoryTableSources",
    "InMemoryTables",
    "InMemoryTaskQueue",
    "InMemoryWorkerProbe",
]
