"""Processes as Linux's /proc shows them: enough to find what an earlier run left behind and to
stop a process group for good. On a system without /proc nothing is found (nothing is killed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessInfo:
    pid: int
    parent: int
    group: int
    state: str
    command: tuple[str, ...]
    cwd: Path | None


def process(pid: int) -> ProcessInfo | None:
    """The process `pid`, or None when there is none (a zombie counts as none)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in {"Z", "X"}:
        return None
    try:
        cwd: Path | None = (PROC / str(pid) / "cwd").readlink()
    except OSError:
        cwd = None
    command = tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    return ProcessInfo(
        pid=pid,
        parent=int(fields[1]),
        group=int(fields[2]),
        state=fields[0],
        command=command,
        cwd=cwd,
    )


def processes() -> Iterator[ProcessInfo]:
    if not PROC.is_dir():
        return
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (found := process(int(entry.name))) is not None:
            yield found


def alive(pid: int) -> bool:
    if PROC.is_dir():
        return process(pid) is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_members(group: int) -> list[int]:
    """The live processes of process group `group`."""
    return [found.pid for found in processes() if found.group == group]


def wait_gone(pids: list[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop_group(group: int, *, grace: float, first: signal.Signals = signal.SIGTERM) -> None:
    """`first` to every process of group `group`, SIGKILL to those left after `grace` seconds."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(group, first)
    if not wait_gone(group_members(group) or [group], grace):
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
        wait_gone(group_members(group), 5)


def stop_leader(pid: int, *, grace: float) -> None:
    """Stops process `pid` and, when it leads a process group, that whole group."""
    found = process(pid)
    if found is None:
        return
    if found.group == pid:
        stop_group(pid, grace=grace)
        return
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not wait_gone([pid], grace):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_gone([pid], 5)


def stop_process_group(
    process: subprocess.Popen[Any], *, grace: float, first: signal.Signals = signal.SIGTERM
) -> None:
    """`first` to a process that leads its own session, SIGKILL after `grace` seconds, then
    SIGKILL to whatever of its group is left (prefork children that outlived their parent)."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, first)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    wait_gone(group_members(process.pid), 5)
