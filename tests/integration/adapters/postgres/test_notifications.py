"""The process's one LISTEN connection, and the catalog snapshot it keeps right: announced
changes, a connection cut or gone quiet (through a proxy of the test's own), and back."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool

from adapters.caching.catalog_snapshot import SnapshotTableCatalog
from adapters.csv.sources import FileSystemTableSources
from adapters.postgres.catalog import CATALOG_CHANNEL, PostgresTableCatalog
from adapters.postgres.job_feed import CHANNEL as JOBS_CHANNEL
from adapters.postgres.loading.loader import PostgresTableLoader
from adapters.postgres.notifications import PostgresNotifications
from domain.tables.errors import MalformedSource
from domain.tables.model import TableInfo, TableName
from tests.support.polling import eventually
from tests.support.tcp import TcpProxy, proxy_to

QUIET = 60.0
"""A heartbeat that never comes within a test, so the snapshot is trusted throughout."""


@dataclass
class Heard:
    payloads: list[str] = field(default_factory=list)
    states: list[bool] = field(default_factory=list)


@dataclass
class Listening:
    notifications: PostgresNotifications
    proxy: TcpProxy
    heard: Heard
    snapshot: SnapshotTableCatalog
    catalog: CountingCatalog
    pool: AsyncConnectionPool
    data_dir: Path
    version: int = 0

    async def load(self, text: str | None = None) -> TableInfo:
        """Writes t.csv anew (a new version each time, unless `text` repeats one) and loads it
        over the pool, as another process would."""
        self.version += 1
        path = self.data_dir / "t.csv"
        path.write_text(text if text is not None else f"v\n{self.version}\n")
        os.utime(path, ns=(self.version * 10**9, self.version * 10**9))
        source = await FileSystemTableSources(self.data_dir).find(TableName("t"))
        assert source is not None
        return await PostgresTableLoader(self.pool, self.data_dir).load(source)

    async def load_and_hear(self) -> TableInfo:
        """`load`, once its announcement has been heard."""
        heard = len(self.heard.payloads)
        table = await self.load()

        async def announced() -> bool:
            return len(self.heard.payloads) > heard

        await eventually(announced, within=10, what="the load to be announced")
        return table


class CountingCatalog(PostgresTableCatalog):
    reads = 0

    async def get(self, name: TableName) -> TableInfo | None:
        self.reads += 1
        return await super().get(name)


@pytest.fixture
def heartbeat() -> float:
    return QUIET


@pytest.fixture
async def listening(
    pool: AsyncConnectionPool, clean_database: str, data_dir: Path, heartbeat: float
) -> AsyncIterator[Listening]:
    params = conninfo_to_dict(clean_database)
    host, port = str(params.get("host") or "127.0.0.1"), int(str(params.get("port") or 5432))
    async with proxy_to(host, port) as proxy:
        url = make_conninfo(clean_database, host="127.0.0.1", port=proxy.port)
        notifications = PostgresNotifications(
            url, channels=(JOBS_CHANNEL, CATALOG_CHANNEL), connect_timeout=2, heartbeat=heartbeat
        )
        heard = Heard()
        catalog = CountingCatalog(pool)
        snapshot = SnapshotTableCatalog(catalog, current=notifications.is_current)

        def on_notify(payload: str) -> None:
            heard.payloads.append(payload)
            snapshot.forget()

        def on_state(up: bool) -> None:
            heard.states.append(up)
            snapshot.forget()

        notifications.subscribe(CATALOG_CHANNEL, on_notify=on_notify, on_state=on_state)
        assert await notifications.wait_listening(10)
        try:
            yield Listening(notifications, proxy, heard, snapshot, catalog, pool, data_dir)
        finally:
            await notifications.close()


async def current(listening: Listening) -> bool:
    return listening.notifications.is_current()


async def test_every_change_of_the_catalog_is_announced_with_its_table(
    listening: Listening,
) -> None:
    await listening.load()
    await listening.load()
    with pytest.raises(MalformedSource):
        await listening.load("v,w\n1\n")

    async def three() -> bool:
        return len(listening.heard.payloads) >= 3

    await eventually(three, within=10, what="three announcements")
    assert set(listening.heard.payloads) == {"t"}


async def test_the_snapshot_answers_from_memory_until_a_change_is_announced(
    listening: Listening,
) -> None:
    first = await listening.load_and_hear()
    answers = [await listening.snapshot.get(TableName("t")) for _ in range(3)]
    reads = listening.catalog.reads

    second = await listening.load_and_hear()

    assert answers == [first] * 3
    assert reads == 1
    assert await listening.snapshot.get(TableName("t")) == second
    assert await listening.snapshot.get(TableName("t")) == second
    assert listening.catalog.reads == 2


async def test_while_the_connection_is_cut_the_snapshot_reads_the_catalog_every_time(
    listening: Listening,
) -> None:
    first = await listening.load()
    assert await listening.snapshot.get(TableName("t")) == first

    await listening.proxy.cut()

    async def noticed() -> bool:
        return not listening.notifications.is_current()

    await eventually(noticed, within=10, what="the cut to be noticed")
    second = await listening.load()
    unheard = await listening.snapshot.get(TableName("t"))
    third = await listening.load()
    still_unheard = await listening.snapshot.get(TableName("t"))
    await listening.proxy.restore()
    await eventually(lambda: current(listening), within=20, what="the connection to come back")
    back = await listening.snapshot.get(TableName("t"))

    assert (unheard, still_unheard, back) == (second, third, third)
    assert listening.heard.states[:3] == [True, False, True]


@pytest.mark.parametrize("heartbeat", [0.2])
async def test_a_connection_gone_quiet_is_not_trusted_after_its_heartbeat(
    listening: Listening,
) -> None:
    first = await listening.load()
    assert await listening.snapshot.get(TableName("t")) == first

    listening.proxy.silence()

    async def distrusted() -> bool:
        return not listening.notifications.is_current()

    await eventually(distrusted, within=10, what="the silence to be noticed")
    second = await listening.load()

    assert await listening.snapshot.get(TableName("t")) == second
