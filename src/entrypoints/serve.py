"""`experiments serve`: the whole system in one command, as a small supervisor.

The API runs here; the worker and the embedded servers run as children, each in a process
group of its own, so that a terminal's signals reach this process only and it stops them in
order. Ctrl-C, SIGTERM and SIGHUP (the terminal closed) all stop everything. A child that dies
is reported and started again, a few times at most; PostgreSQL, or a child that keeps dying,
stops the whole with a message saying why. What an earlier run left behind (it was killed, or
its host rebooted under it) is found in the state folder and stopped before anything starts.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

import click
import uvicorn
from rich.console import Console

from devtools import processes
from devtools.embedded import (
    EmbeddedServerError,
    RedisServer,
    broker_redis,
    cache_redis,
    check_postgres_folder,
    embedded_postgres,
    postmaster_pid,
)
from devtools.processes import stop_process_group
from entrypoints.config.settings import Settings
from entrypoints.http.server import server_options

__all__ = ["serve", "stop_process_group"]

SHUTDOWN_GRACE = "2"
"""`WORKER_SHUTDOWN_GRACE` under `serve` unless set: a running job gets 2 s to end at Ctrl-C,
then goes back to the broker and runs again, as a new attempt, at the next start."""
WORKER_STOP_MARGIN = 20.0
"""Seconds past its shutdown grace after which a stopping worker is killed."""
RESTARTS = 3
"""Restarts of one child within `RESTART_WINDOW` seconds; one more death stops everything."""
RESTART_WINDOW = 60.0
WATCH_EVERY = 0.5
GONE = 1 << 16
"""The exit code of a child that is not ours to wait for (PostgreSQL) once it is gone."""


class ServeError(click.ClickException):
    """Why `serve` could not start or had to stop; exit status 1."""


def serve(
    *, host: str, port: int, state_dir: Path, concurrency: int | None, console: Console
) -> None:
    """Runs the API here and a worker as a child process; starts embedded PostgreSQL, the
    broker's Redis and the cache's Redis under `state_dir` for whichever of DATABASE_URL,
    REDIS_URL and CACHE_URL is not set (CACHE_URL set empty: no cache). Stops them all, in
    reverse order, on Ctrl-C, SIGTERM or SIGHUP."""
    say = _Say(console)
    stop = _Stop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop.handle)
    state_dir.mkdir(parents=True, exist_ok=True)
    if "DATABASE_URL" not in os.environ:
        _check_postgres_folder(state_dir / "postgres")
    supervisor = _Supervisor(say, stop)
    with ExitStack() as stack:
        stack.enter_context(_only_serve_in(state_dir))
        try:
            _reclaim_worker(state_dir, say)
            _start_servers(stack, state_dir, supervisor, say)
            worker = _Worker(concurrency, state_dir / "worker.pid")
            stack.callback(worker.stop)
            worker.start()
            supervisor.watch(
                _Child("the worker", lambda: worker.pid, worker.exit_code, restart=worker.start)
            )
            base = f"http://{host}:{port}"
            say(
                f"[bold]API[/] {base}   [bold]web page[/] {base}/   [bold]API docs[/] {base}/schema"
            )
            config = uvicorn.Config(
                "entrypoints.http.app:create_app",
                factory=True,
                host=host,
                port=port,
                **server_options(Settings.from_env().http),
            )
            server = uvicorn.Server(config)
            stop.server = server
            stack.enter_context(supervisor.running())
            if not stop.requested:
                server.run()
        except KeyboardInterrupt:
            pass
        except EmbeddedServerError as error:
            raise ServeError(str(error)) from None
        finally:
            # From here on, a second signal must not cut the stopping short and orphan a child.
            stop.stopping = True
            say("Stopping")
    if supervisor.failure is not None:
        raise ServeError(supervisor.failure)


class _Say:
    """The console, when there still is one: a closed terminal must not stop the stopping."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def __call__(self, text: str) -> None:
        with suppress(OSError, ValueError):
            self._console.print(text)


@dataclass
class _Stop:
    """What a stopping signal does: before the API runs, unwind at once; while it runs, end
    it gracefully (uvicorn handles SIGINT and SIGTERM itself then; SIGHUP lands here); once
    stopping, nothing."""

    server: uvicorn.Server | None = None
    requested: bool = False
    stopping: bool = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if self.stopping:
            return
        if self.server is not None:
            self.server.should_exit = True
            return
        raise KeyboardInterrupt

    def now(self) -> None:
        """Stops from another thread (the supervisor's)."""
        self.requested = True
        if self.server is not None:
            self.server.should_exit = True
        else:
            signal.raise_signal(signal.SIGTERM)


@contextmanager
def _only_serve_in(state_dir: Path) -> Iterator[None]:
    """One `serve` per state folder: a second one would start servers on the first's data."""
    lock_path = state_dir / "serve.lock"
    with lock_path.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServeError(
                f"Another `experiments serve` ({_read(lock).strip() or 'pid unknown'}) uses "
                f"{state_dir}; stop it first, or give this one another --state-dir."
            ) from None
        lock.truncate(0)
        lock.write(f"pid {os.getpid()}\n")
        lock.flush()
        yield


def _check_postgres_folder(data_dir: Path) -> None:
    """Before anything starts: as root, a state folder `nobody` (who runs PostgreSQL) cannot
    reach, or a data folder of another PostgreSQL, stops `serve` with what to do."""
    try:
        check_postgres_folder(data_dir)
    except EmbeddedServerError as error:
        raise ServeError(str(error)) from None


def _read(file: IO[str]) -> str:
    file.seek(0)
    return file.read()


def _reclaim_worker(state_dir: Path, say: _Say) -> None:
    """Stops a worker an earlier `serve` left running (it holds a job's message)."""
    pid_file = state_dir / "worker.pid"
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return
    found = processes.process(pid)
    if found is not None and "worker" in found.command and found.group == pid:
        say(f"Stopping the worker (pid {pid}) an earlier run left behind")
        processes.stop_group(pid, grace=float(SHUTDOWN_GRACE) + WORKER_STOP_MARGIN)
    pid_file.unlink(missing_ok=True)


def _start_servers(stack: ExitStack, state_dir: Path, supervisor: _Supervisor, say: _Say) -> None:
    if "DATABASE_URL" not in os.environ:
        data = state_dir / "postgres"
        say(f"Starting embedded PostgreSQL in {data}")
        os.environ["DATABASE_URL"] = stack.enter_context(embedded_postgres(data))
        postmaster = postmaster_pid(data)
        supervisor.watch(
            _Child(
                "PostgreSQL",
                lambda: postmaster,
                lambda: None if postmaster is None or processes.alive(postmaster) else GONE,
                hint=f"its log is {data / 'log'}",
            )
        )
    for variable, name, make in (
        ("REDIS_URL", "Redis (the broker)", broker_redis),
        ("CACHE_URL", "Redis (the cache)", cache_redis),
    ):
        if variable in os.environ:
            continue
        data = state_dir / ("redis" if variable == "REDIS_URL" else "cache")
        say(f"Starting embedded {name} in {data}")
        redis = make(data)
        stack.callback(redis.stop)
        redis.start()
        os.environ[variable] = redis.url
        supervisor.watch(_redis_child(name, redis))


def _redis_child(name: str, redis: RedisServer) -> _Child:
    return _Child(
        name,
        lambda: redis.process.pid if redis.process else None,
        lambda: redis.process.poll() if redis.process else None,
        restart=redis.start,
        hint=f"its log is {redis.log_file}",
    )


class _Worker:
    """`experiments worker` as a child leading its own process group."""

    def __init__(self, concurrency: int | None, pid_file: Path) -> None:
        self._command = [sys.executable, "-m", "entrypoints", "worker"]
        if concurrency is not None:
            self._command.append(f"--concurrency={concurrency}")
        self._pid_file = pid_file
        self._env = {**os.environ, "REMAP_SIGTERM": "SIGQUIT"}
        self._env.setdefault("WORKER_SHUTDOWN_GRACE", SHUTDOWN_GRACE)
        self._grace = float(self._env["WORKER_SHUTDOWN_GRACE"] or SHUTDOWN_GRACE)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def start(self) -> None:
        if self.process is not None:
            # What a dead worker's prefork children may have left.
            stop_process_group(self.process, grace=1)
        # SIGTERM becomes Celery's cold shutdown (REMAP_SIGTERM): running jobs get the grace,
        # then their messages go back to Redis at once.
        self.process = subprocess.Popen(self._command, start_new_session=True, env=self._env)
        self._pid_file.write_text(str(self.process.pid))

    def stop(self) -> None:
        if self.process is None:
            return
        # The worker's main process alone: it stops its children itself, handing their jobs
        # back; the group is killed after, whatever is left of it.
        with suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(self._grace + WORKER_STOP_MARGIN)
        stop_process_group(self.process, grace=1, first=signal.SIGKILL)
        self._pid_file.unlink(missing_ok=True)


@dataclass
class _Child:
    name: str
    pid: Callable[[], int | None]
    exit_code: Callable[[], int | None]
    """None while it runs."""
    restart: Callable[[], None] | None = None
    hint: str = ""
    deaths: deque[float] = field(default_factory=deque)


class _Supervisor:
    """Watches the children from a thread: a dead one is reported, and started again unless
    it died `RESTARTS` times within `RESTART_WINDOW` seconds or cannot be; then everything
    stops, and `failure` says why."""

    def __init__(self, say: _Say, stop: _Stop) -> None:
        self._say = say
        self._stop = stop
        self._children: list[_Child] = []
        self._done = threading.Event()
        self.failure: str | None = None

    def watch(self, child: _Child) -> None:
        self._children.append(child)

    @contextmanager
    def running(self) -> Iterator[None]:
        thread = threading.Thread(target=self._loop, name="serve-supervisor", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._done.set()
            thread.join(30)

    def _loop(self) -> None:
        while not self._done.wait(WATCH_EVERY):
            for child in self._children:
                code = child.exit_code()
                if code is None or self._done.is_set():
                    continue
                if not self._revive(child, code):
                    self._stop.now()
                    return

    def _revive(self, child: _Child, code: int) -> bool:
        now = time.monotonic()
        while child.deaths and now - child.deaths[0] > RESTART_WINDOW:
            child.deaths.popleft()
        child.deaths.append(now)
        if code == GONE:
            how = "is gone"
        elif code < 0:
            how = f"was killed by {_signal_name(-code)}"
        else:
            how = f"exited with code {code}"
        hint = f" ({child.hint})" if child.hint else ""
        self._say(f"[red]{child.name} (pid {child.pid()}) {how}[/]{hint}")
        if child.restart is None:
            self.failure = f"{child.name} {how}{hint}: stopped everything."
            return False
        if len(child.deaths) > RESTARTS:
            self.failure = (
                f"{child.name} died {len(child.deaths)} times within {RESTART_WINDOW:g} s, "
                f"last: it {how}{hint}: stopped everything."
            )
            return False
        try:
            child.restart()
        except Exception as error:
            self.failure = f"{child.name} could not be started again: {error}"
            return False
        self._say(
            f"Started {child.name} again (pid {child.pid()}), "
            f"{len(child.deaths)} of {RESTARTS} restarts within {RESTART_WINDOW:g} s"
        )
        return True


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
