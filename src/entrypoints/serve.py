"""`experiments serve`: the whole system in one command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from rich.console import Console

from devtools.embedded import embedded_cache_redis, embedded_postgres, embedded_redis
from entrypoints.config.settings import Settings
from entrypoints.http.server import server_options

WORKER_GRACE = 75.0
"""Seconds the worker gets to stop before it is killed: longer than its 60 s soft shutdown."""


def serve(
    *, host: str, port: int, state_dir: Path, concurrency: int | None, console: Console
) -> None:
    """Runs the API here and a worker as a child process; starts embedded PostgreSQL, the
    broker's Redis and the cache's Redis under `state_dir` for whichever of DATABASE_URL,
    REDIS_URL and CACHE_URL is not set (CACHE_URL set empty: no cache). Stops them all, in
    reverse order, on Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, _interrupt)
    with ExitStack() as stack:
        if "DATABASE_URL" not in os.environ:
            console.print(f"Starting embedded PostgreSQL in {state_dir / 'postgres'}")
            url = stack.enter_context(embedded_postgres(state_dir / "postgres"))
            os.environ["DATABASE_URL"] = url
        if "REDIS_URL" not in os.environ:
            console.print(f"Starting embedded Redis in {state_dir / 'redis'}")
            os.environ["REDIS_URL"] = stack.enter_context(embedded_redis(state_dir / "redis"))
        if "CACHE_URL" not in os.environ:
            console.print(f"Starting embedded Redis for the cache in {state_dir / 'cache'}")
            os.environ["CACHE_URL"] = stack.enter_context(embedded_cache_redis(state_dir / "cache"))
        stack.enter_context(_worker(concurrency))
        base = f"http://{host}:{port}"
        console.print(
            f"[bold]API[/] {base}   [bold]web page[/] {base}/   [bold]API docs[/] {base}/schema"
        )
        with suppress(KeyboardInterrupt):
            uvicorn.run(
                "entrypoints.http.app:create_app",
                factory=True,
                host=host,
                port=port,
                **server_options(Settings.from_env().http),
            )
        console.print("Stopping")


@contextmanager
def _worker(concurrency: int | None) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "entrypoints", "worker"]
    if concurrency is not None:
        command.append(f"--concurrency={concurrency}")
    # A session of its own: the worker hears about Ctrl-C from us, once, and in order. SIGTERM
    # becomes Celery's soft-then-cold shutdown, which hands running jobs back to Redis.
    process = subprocess.Popen(
        command, start_new_session=True, env={**os.environ, "REMAP_SIGTERM": "SIGQUIT"}
    )
    try:
        yield process
    finally:
        stop_process_group(process, grace=WORKER_GRACE)


def stop_process_group(process: subprocess.Popen[Any], *, grace: float) -> None:
    """SIGTERM to a process that leads its own session, SIGKILL after `grace` seconds, then
    SIGKILL to whatever of its group is left (prefork children that outlived their parent)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
