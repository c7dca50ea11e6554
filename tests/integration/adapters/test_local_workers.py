from __future__ import annotations

import os
import subprocess
import sys

from adapters.local_workers import LocalWorkerProbe


async def test_a_live_process_of_this_host_is_not_gone() -> None:
    probe = LocalWorkerProbe("here")

    assert not await probe.gone(f"here:{os.getppid()}")
    assert not await probe.gone(f"here:{os.getpid()}")


async def test_a_dead_or_unreaped_process_of_this_host_is_gone() -> None:
    probe = LocalWorkerProbe("here")
    child = _exited_child()

    unreaped = await probe.gone(f"here:{child.pid}")
    child.wait()
    reaped = await probe.gone(f"here:{child.pid}")

    assert (unreaped, reaped) == (True, True)


async def test_a_worker_of_another_host_or_without_a_pid_is_never_taken_for_gone() -> None:
    probe = LocalWorkerProbe("here")

    assert not await probe.gone("elsewhere:999999999")
    assert not await probe.gone("here")
    assert not await probe.gone("here:abc")


def _exited_child() -> subprocess.Popen[bytes]:
    """A child that has exited and is not reaped yet: a zombie."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    while _state(child.pid) != "Z":
        pass
    return child


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0]
    except OSError:
        return "?"
