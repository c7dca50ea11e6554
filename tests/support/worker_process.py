"""A real `experiments worker` process, started and stopped by tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devtools.processes import stop_process_group

EXPERIMENTS = Path(sys.executable).with_name("experiments")


@dataclass
class WorkerProcess:
    process: subprocess.Popen[str]
    ready: threading.Event = field(default_factory=threading.Event)
    output: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.output)

    def wait_ready(self, within: float = 30) -> None:
        if not self.ready.wait(within):
            raise RuntimeError("the worker did not start:\n" + self.text)


@contextmanager
def started_worker(env: Mapping[str, str], *, concurrency: int = 2) -> Iterator[WorkerProcess]:
    """Starts a worker with the service's environment `env`, without waiting for it to be
    ready; stops it and every child."""
    process = subprocess.Popen(
        [str(EXPERIMENTS), "worker", f"--concurrency={concurrency}"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    worker = WorkerProcess(process)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            worker.output.append(line)
            if " ready." in line:
                worker.ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        yield worker
    finally:
        stop_process_group(process, grace=20)


@contextmanager
def running_worker(
    env: Mapping[str, str], *, concurrency: int = 2
) -> Iterator[subprocess.Popen[str]]:
    """Starts a worker with the service's environment `env` and waits until it is ready; stops
    it and every child."""
    with started_worker(env, concurrency=concurrency) as worker:
        worker.wait_ready()
        yield worker.process
