"""A real `experiments worker` process, started and stopped by tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from entrypoints.settings import Settings

EXPERIMENTS = Path(sys.executable).with_name("experiments")


@contextmanager
def running_worker(settings: Settings, *, concurrency: int = 2) -> Iterator[subprocess.Popen[str]]:
    """Starts a worker with `settings` and waits until it is ready; stops it and every child."""
    process = subprocess.Popen(
        [str(EXPERIMENTS), "worker", f"--concurrency={concurrency}"],
        env={**os.environ, **settings.environ()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    ready = threading.Event()
    output: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the worker did not start:\n" + "".join(output))
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    deadline = time.monotonic() + 5
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group_alive(process.pid):
        os.killpg(process.pid, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
