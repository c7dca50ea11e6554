"""The fault tier's servers and processes: a PostgreSQL and a Redis of its own for the whole
run (each test gets a database of its own and an emptied, healthy Redis), and the service's
real processes, stopped after each test. Never the shared servers: these are stopped, killed,
paused, locked and filled."""

from __future__ import annotations

import resource
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from tests.support.own_servers import OwnPostgres, OwnRedis
from tests.support.service_processes import Service

SEED_DATA = Path(__file__).parents[2] / "data"

SERVICE_DEFAULTS = {
    "CACHE_URL": "",
    "CELERY_QUEUE": "experiments",
    "LOG_LEVEL": "info",
    "METRIC_ITERATIONS": "100000",
    "JOB_MAX_ATTEMPTS": "3",
    # Recovery within seconds rather than the defaults' half minute, so the tier stays short.
    "JOB_LEASE": "4",
    "JOB_SWEEP_INTERVAL": "1",
    "JOB_REPUBLISH_AFTER": "3",
    "WORKER_SHUTDOWN_GRACE": "0",
}
"""What the service's processes run with, besides their servers."""


def _more_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


_more_open_files()


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[OwnPostgres]:
    # Not under pytest's temporary folder: that is private to the user running the tests,
    # and the server may run as another (`nobody`, when the tests run as root).
    root = Path(tempfile.mkdtemp(prefix="experiments-faults-pg-"))
    server = OwnPostgres(root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running:
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path_factory.mktemp("own-redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database(own_postgres: OwnPostgres) -> Iterator[str]:
    """A database of the test's own on the tier's PostgreSQL (started again if a test left
    it stopped); its URL."""
    own_postgres.ensure_running()
    name = f"faults_{uuid.uuid4().hex[:12]}"
    url = own_postgres.create_database(name)
    yield url
    own_postgres.ensure_running()
    own_postgres.drop_database(name)


@pytest.fixture
def broker(own_redis: OwnRedis) -> OwnRedis:
    own_redis.reset()
    return own_redis


@pytest.fixture
def fault_data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    shutil.copy(SEED_DATA / "df_sales.csv", path / "df_sales.csv")
    return path


@pytest.fixture
def service(
    database: str, broker: OwnRedis, fault_data_dir: Path, tmp_path: Path
) -> Iterator[Service]:
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {
        **SERVICE_DEFAULTS,
        "DATABASE_URL": database,
        "REDIS_URL": broker.url,
        "DATA_DIR": str(fault_data_dir),
    }
    running = Service(env, logs)
    try:
        yield running
    finally:
        running.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


# A run stopped with SIGTERM (a CI timeout) still runs the fixtures' teardown, which stops the
# servers and processes of the tier; without it they would outlive the run.
signal.signal(signal.SIGTERM, _interrupt)
