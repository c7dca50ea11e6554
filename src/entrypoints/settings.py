"""Configuration, read from environment variables (documented in the README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    data_dir: Path = Path("data")
    database_pool_size: int = 20
    database_timeout: float = 10.0
    """Seconds a request waits for a database connection before answering 503."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            database_url=environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=environ.get("REDIS_URL", DEFAULT_REDIS_URL),
            data_dir=Path(environ.get("DATA_DIR", "data")),
            database_pool_size=int(environ.get("DATABASE_POOL_SIZE", "20")),
            database_timeout=float(environ.get("DATABASE_TIMEOUT", "10")),
        )
