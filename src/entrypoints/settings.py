"""Configuration, read from environment variables (documented in the README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    queue_name: str = "experiments"
    max_active_jobs: int = 100
    job_max_attempts: int = 3
    job_time_limit: float = 600.0
    metric_iterations: int = 10**7
    worker_concurrency: int = field(default_factory=lambda: os.cpu_count() or 1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Reads the variables in the README; an unset or empty one takes its default."""
        environ = {key: value for key, value in environ.items() if value}
        return cls(
            database_url=environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=environ.get("REDIS_URL", DEFAULT_REDIS_URL),
            data_dir=Path(environ.get("DATA_DIR", "data")),
            database_pool_size=int(environ.get("DATABASE_POOL_SIZE", "20")),
            database_timeout=float(environ.get("DATABASE_TIMEOUT", "10")),
            queue_name=environ.get("CELERY_QUEUE", "experiments"),
            max_active_jobs=int(environ.get("MAX_ACTIVE_JOBS", "100")),
            job_max_attempts=int(environ.get("JOB_MAX_ATTEMPTS", "3")),
            job_time_limit=float(environ.get("JOB_TIME_LIMIT", "600")),
            metric_iterations=int(environ.get("METRIC_ITERATIONS", str(10**7))),
            worker_concurrency=int(environ.get("WORKER_CONCURRENCY", str(os.cpu_count() or 1))),
        )

    def environ(self) -> dict[str, str]:
        """These settings as the environment variables that `from_env` reads."""
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DATA_DIR": str(self.data_dir),
            "DATABASE_POOL_SIZE": str(self.database_pool_size),
            "DATABASE_TIMEOUT": str(self.database_timeout),
            "CELERY_QUEUE": self.queue_name,
            "MAX_ACTIVE_JOBS": str(self.max_active_jobs),
            "JOB_MAX_ATTEMPTS": str(self.job_max_attempts),
            "JOB_TIME_LIMIT": str(self.job_time_limit),
            "METRIC_ITERATIONS": str(self.metric_iterations),
            "WORKER_CONCURRENCY": str(self.worker_concurrency),
        }
