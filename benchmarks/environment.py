"""What a run needs: its own database on the configured PostgreSQL, its own queue and cache
prefix on the configured Redis, and the service's processes (API, worker) and the baselines'
(the bare endpoint), each started as a user would start them and stopped at the end."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis
from psycopg import sql
from psycopg.conninfo import make_conninfo

from devtools.embedded import free_port
from entrypoints.config.settings import Settings
from entrypoints.serve import stop_process_group

EXPERIMENTS = Path(sys.executable).with_name("experiments")


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    """The variables of the service under test, and where its pieces are."""

    name: str
    """Of the database, the queue and the cache prefix: `bench_<random>`."""
    database_url: str
    broker_url: str
    cache_url: str
    data_dir: Path
    work_dir: Path

    def service_env(self, **overrides: str) -> dict[str, str]:
        """The environment of the service's processes; `overrides` win."""
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.broker_url,
            "CACHE_URL": "",
            "CACHE_PREFIX": f"{self.name}:",
            "CELERY_QUEUE": self.name,
            "DATA_DIR": str(self.data_dir),
            "MAX_ACTIVE_JOBS": str(10**9),
            "LOG_LEVEL": "WARNING",
        }
        env.update(overrides)
        return env


def with_database(url: str, name: str) -> str:
    """The same connection string with another database name."""
    return make_conninfo(url, dbname=name)


@contextmanager
def environment(settings: Settings, work_dir: Path) -> Iterator[Environment]:
    """Creates the run's database (dropped at the end, with its connections) and folders;
    removes the run's queue and cache keys from Redis at the end."""
    name = f"bench_{secrets.token_hex(4)}"
    admin_url = settings.database.url
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    data_dir = work_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = Environment(
        name=name,
        database_url=with_database(admin_url, name),
        broker_url=settings.broker.url,
        cache_url=settings.cache.url or settings.broker.url,
        data_dir=data_dir,
        work_dir=work_dir,
    )
    try:
        yield env
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        for url in {env.broker_url, env.cache_url}:
            with suppress(redis.RedisError):
                client = redis.Redis.from_url(url)
                # The queue, its bindings and the cache keys: every key that holds the name.
                keys = list(client.scan_iter(f"*{name}*"))
                if keys:
                    client.delete(*keys)
                client.close()


@dataclass(frozen=True, slots=True, kw_only=True)
class Server:
    """An HTTP server the suite started."""

    base: str
    process: subprocess.Popen[bytes]


def _start(command: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            command,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server stopped; see {log}:\n{log.read_text()[-3000:]}")
        with suppress(OSError), urllib.request.urlopen(url, timeout=2):  # noqa: S310
            return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {within} s; see {log}")


@contextmanager
def api(env: Environment, label: str, **overrides: str) -> Iterator[Server]:
    """`experiments api` on a free port, with the run's environment and `overrides`; at
    INFO, so that it writes an access line a request, as the baseline's uvicorn does."""
    port = free_port()
    command = [str(EXPERIMENTS), "api", f"--port={port}"]
    environ = env.service_env(**{"LOG_LEVEL": "INFO", **overrides})
    with _served(command, environ, env.work_dir / f"{label}.log", port, ready="/health") as server:
        yield server


@contextmanager
def bare_server(env: Environment, table: str) -> Iterator[Server]:
    """The baselines' endpoint (`benchmarks.bare_logs`) under uvicorn's defaults, its access
    log too (`experiments api` writes its own)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "benchmarks.bare_logs:create_app",
        "--host=127.0.0.1",
        f"--port={port}",
    ]
    environ = {**os.environ, "BENCH_DATABASE_URL": env.database_url, "BENCH_TABLE": table}
    with _served(command, environ, env.work_dir / "bare.log", port, ready="/ceiling") as server:
        yield server


@contextmanager
def _served(
    command: list[str], environ: Mapping[str, str], log: Path, port: int, *, ready: str
) -> Iterator[Server]:
    """`command`, an HTTP server on `port`, once `ready` answers; stopped at the end."""
    process = _start(command, environ, log)
    try:
        wait_http(f"http://127.0.0.1:{port}{ready}", process, log)
        yield Server(base=f"http://127.0.0.1:{port}", process=process)
    finally:
        stop_process_group(process, grace=10)


@contextmanager
def worker(env: Environment, label: str, **overrides: str) -> Iterator[subprocess.Popen[bytes]]:
    """`experiments worker --concurrency=1`, once it said it is ready."""
    log = env.work_dir / f"{label}.log"
    start = log.stat().st_size if log.exists() else 0
    process = _start(
        [str(EXPERIMENTS), "worker", "--concurrency=1"],
        env.service_env(LOG_LEVEL="INFO", **overrides),
        log,
    )
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes()[start:]:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {log}")
            time.sleep(0.1)
        yield process
    finally:
        stop_process_group(process, grace=20)


def request(
    url: str,
    *,
    method: str = "GET",
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One HTTP request; the status, headers and JSON body (None when empty)."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json"} if data is not None else {}
    all_headers.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310
            raw = response.read()
            status, found = response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, found = error.read(), error.code, dict(error.headers)
    return status, found, json.loads(raw) if raw else None
