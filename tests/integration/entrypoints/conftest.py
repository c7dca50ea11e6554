from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from entrypoints.http.app import create_app
from entrypoints.settings import Settings

SEED_DATA = Path(__file__).parents[3] / "data"


@pytest.fixture
def seeded_data_dir(data_dir: Path) -> Path:
    for name in ("df_sales.csv", "df_sales_detail.csv"):
        shutil.copy(SEED_DATA / name, data_dir / name)
    return data_dir


@pytest.fixture
def settings(
    clean_database: str, redis_url: str, queue_name: str, seeded_data_dir: Path
) -> Settings:
    """The service on the test servers, with a queue of its own and the seed tables."""
    return Settings(
        database_url=clean_database,
        redis_url=redis_url,
        queue_name=queue_name,
        data_dir=seeded_data_dir,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client
