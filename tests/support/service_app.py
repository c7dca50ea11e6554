from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.config.settings import Settings
from entrypoints.http.app import create_app

SEED_DATA = Path(__file__).parents[2] / "data"


@pytest.fixture
def seeded_data_dir(data_dir: Path) -> Path:
    for name in ("df_sales.csv", "df_sales_detail.csv", "experiment_users.csv"):
        shutil.copy(SEED_DATA / name, data_dir / name)
    return data_dir


@pytest.fixture
def service_env(
    clean_database: str, redis_url: str, queue_name: str, seeded_data_dir: Path
) -> dict[str, str]:
    """The environment of the service on the test servers, with a queue of its own and the
    seed tables: what its processes read."""
    return {
        "DATABASE_URL": clean_database,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue_name,
        "DATA_DIR": str(seeded_data_dir),
    }


@pytest.fixture
def settings(service_env: dict[str, str]) -> Settings:
    return Settings.from_env(service_env)


def settings_with(env: Mapping[str, str], **variables: object) -> Settings:
    """The settings of `env` with some variables set otherwise."""
    return Settings.from_env({**env, **{name: str(value) for name, value in variables.items()}})


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client
