"""Which workers of this host are dead: a job's worker is named `host:pid`."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from domain.jobs.ports import WorkerProbe


class LocalWorkerProbe(WorkerProbe):
    """Knows the processes of this host only; a worker elsewhere is never taken for gone (its
    lease tells). A zombie (dead, not yet reaped by the worker's main process) is gone."""

    def __init__(self, host: str | None = None) -> None:
        self._host = host or socket.gethostname()

    async def gone(self, worker: str) -> bool:
        host, _, pid_text = worker.rpartition(":")
        if host != self._host or not pid_text.isdigit():
            return False
        pid = int(pid_text)
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
