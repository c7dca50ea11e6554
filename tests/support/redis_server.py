"""A redis-server of a test's own, on a free port in a temporary folder: for tests that stop
or fill Redis, which must never touch the shared one."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """Not running until `start`; `url` is known before, so a client can be pointed at a
    Redis that is not up yet."""

    def __init__(self, directory: Path, *, maxmemory: str | None = None) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._maxmemory = maxmemory
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None, "redis-server is not installed"
        command = [executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.directory), "--save", "", "--appendonly", "no"]
        if self._maxmemory:
            command += ["--maxmemory", self._maxmemory, "--maxmemory-policy", "noeviction"]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with self.client() as client:
                    client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def fill(self) -> int:
        """Writes until Redis refuses for lack of memory; returns the keys written."""
        written = 0
        with self.client() as client, suppress(redis.exceptions.OutOfMemoryError):
            while True:
                client.set(f"filler:{written}", b"x" * 10_000)
                written += 1
        return written

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


@contextmanager
def own_redis(
    directory: Path, *, maxmemory: str | None = None, start: bool = True
) -> Iterator[RedisServer]:
    server = RedisServer(directory, maxmemory=maxmemory)
    if start:
        server.start()
    try:
        yield server
    finally:
        server.stop()
