"""A real `experiments worker` process, started and stopped by tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from devtools.processes import stop_process_group

EXPERIMENTS = Path(sys.executable).with_name("experiments")


@contextmanager
def running_worker(
    env: Mapping[str, str], *, concurrency: int = 2
) -> Iterator[subprocess.Popen[str]]:
    """Starts a worker with the service's environment `env` and waits until it is ready; stops
    it and every child."""
    process = subprocess.Popen(
        [str(EXPERIMENTS), "worker", f"--concurrency={concurrency}"],
        env={**os.environ, **env},
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
        stop_process_group(process, grace=20)
