"""`experiments serve` as a supervisor, run as a subprocess on its embedded servers and sent
the signals a terminal, a crash and an impatient user send (docs/reliability.md, rows S1-S4).
"No process left" is checked by pid: every process of the run, found from /proc, is gone."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from devtools.embedded import SERVER_NAMES, free_port
from devtools.processes import alive, processes
from tests.support.polling import eventually_sync

REPO = Path(__file__).parents[2]
EXPERIMENTS = Path(sys.executable).with_name("experiments")
STOPPED_WITHIN = 15.0
"""Seconds `serve` may take to stop everything: "a few seconds", generously."""


class Serve:
    """One `experiments serve` on a state folder, its output kept."""

    def __init__(self, state: Path, **variables: str) -> None:
        self.state = state
        self.port = free_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in {"DATABASE_URL", "REDIS_URL", "CACHE_URL", "TEST_POSTGRES_URL", "TEST_REDIS_URL"}
        }
        env |= {"DATA_DIR": str(REPO / "data"), "METRIC_ITERATIONS": "300000", **variables}
        self.process = subprocess.Popen(
            [
                str(EXPERIMENTS),
                "serve",
                "--port",
                str(self.port),
                "--state-dir",
                str(state),
                "--concurrency",
                "1",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def wait_up(self) -> None:
        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError("serve exited:\n" + self.output)
            return httpx.get(f"{self.url}/health", timeout=5).status_code == 200

        eventually_sync(up, within=120, what="serve", ignoring=(httpx.TransportError,))
        eventually_sync(
            lambda: " ready." in self.output, within=60, what="serve's worker", every=0.1
        )

    def family(self) -> set[int]:
        """Every process this run started: its descendants, and the servers it started in
        sessions of their own (found by their state folder)."""
        found = descendants(self.process.pid)
        for process in processes():
            if any(str(self.state) in part for part in process.command) or (
                process.cwd is not None and str(self.state) in str(process.cwd)
            ):
                found.add(process.pid)
        found.discard(os.getpid())
        return found

    def stop_with(self, signum: signal.Signals) -> tuple[float, set[int]]:
        """Sends `signum`; returns how long until it exited and what it left running."""
        family = self.family()
        start = time.monotonic()
        self.process.send_signal(signum)
        self.process.wait(90)
        took = time.monotonic() - start
        time.sleep(0.5)
        return took, {pid for pid in family if alive(pid)}

    def kill_everything(self) -> None:
        for pid in self.family() | {self.process.pid}:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def descendants(pid: int) -> set[int]:
    every = list(processes())
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {p.pid for p in every if p.parent in frontier}
        frontier = children - found
        found |= children
    return found


def redis_servers_in(folder: Path) -> list[int]:
    return [
        p.pid
        for p in processes()
        if p.command
        and any(name in p.command[0] for name in SERVER_NAMES)
        and p.cwd == folder.resolve()
    ]


@contextmanager
def serving(state: Path, **variables: str) -> Iterator[Serve]:
    serve = Serve(state, **variables)
    try:
        serve.wait_up()
        yield serve
    finally:
        if serve.process.poll() is None:
            serve.process.send_signal(signal.SIGINT)
            try:
                serve.process.wait(60)
            except subprocess.TimeoutExpired:
                serve.kill_everything()


def test_sighup_and_sigterm_stop_everything_and_the_next_serve_starts_clean(
    state_dir: Path,
) -> None:
    with serving(state_dir) as first:
        took, left = first.stop_with(signal.SIGHUP)
    assert first.process.returncode == 0
    assert took < STOPPED_WITHIN
    assert left == set()

    with serving(state_dir) as second:
        redis = redis_servers_in(state_dir / "redis")
        took, left = second.stop_with(signal.SIGTERM)

    assert len(redis) == 1
    assert second.process.returncode == 0
    assert took < STOPPED_WITHIN
    assert left == set()


def test_what_a_killed_serve_left_is_stopped_before_the_next_starts(state_dir: Path) -> None:
    with serving(state_dir) as crashed:
        orphans = crashed.family()
        crashed.process.kill()
        crashed.process.wait(30)
        time.sleep(0.5)
        still = {pid for pid in orphans if alive(pid)}
    assert still, "killing serve alone should leave its servers behind"

    with serving(state_dir) as next_one:
        reclaimed = {pid for pid in still if alive(pid)}
        brokers = redis_servers_in(state_dir / "redis")
        caches = redis_servers_in(state_dir / "cache")
        # While it runs, a second `serve` on the same folder is refused.
        second = subprocess.run(
            [str(EXPERIMENTS), "serve", "--port", str(free_port()), "--state-dir", str(state_dir)],
            env={
                k: v
                for k, v in os.environ.items()
                if k not in {"DATABASE_URL", "REDIS_URL", "CACHE_URL"}
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        with next_one.client() as client:
            health = client.get("/health").status_code
        still_one = redis_servers_in(state_dir / "redis")
        took, left = next_one.stop_with(signal.SIGINT)

    assert second.returncode == 1
    assert "Another `experiments serve`" in second.stderr
    assert still_one == brokers
    assert reclaimed == set()
    assert (len(brokers), len(caches)) == (1, 1)
    assert "an earlier run left" in next_one.output
    assert health == 200
    assert took < STOPPED_WITHIN
    assert left == set()


def test_ctrl_c_with_a_job_running_hands_it_back_within_seconds_and_it_runs_again(
    state_dir: Path,
) -> None:
    with serving(state_dir, METRIC_ITERATIONS=str(10**9)) as first, first.client() as client:
        job_id = client.post("/launch").json()["job_id"]
        eventually_sync(
            lambda: client.get(f"/jobs/{job_id}").json()["status"] == "running",
            within=60,
            what="the job to run",
        )
        took, left = first.stop_with(signal.SIGINT)

    assert took < STOPPED_WITHIN
    assert left == set()

    with serving(state_dir) as second, second.client() as client:

        def ended() -> dict[str, object] | None:
            job: dict[str, object] = client.get(f"/jobs/{job_id}").json()
            return job if job["status"] in {"succeeded", "failed", "cancelled"} else None

        job = eventually_sync(ended, within=120, what="the job to run again")

    assert job["status"] == "succeeded"
    assert job["attempts"] == 2


def test_a_dead_worker_is_restarted_and_one_that_keeps_dying_stops_everything(
    state_dir: Path,
) -> None:
    serve = Serve(state_dir)
    try:
        serve.wait_up()
        first = int((state_dir / "worker.pid").read_text())
        os.kill(first, signal.SIGKILL)

        def restarted() -> int | None:
            pid = int((state_dir / "worker.pid").read_text())
            return pid if pid != first and alive(pid) else None

        second = eventually_sync(restarted, within=30, what="a new worker")
        with serve.client() as client:
            eventually_sync(
                lambda: " ready." in serve.output.split("Started the worker again")[-1],
                within=60,
                what="the new worker",
            )
            job_id = client.post("/launch").json()["job_id"]
            eventually_sync(
                lambda: client.get(f"/jobs/{job_id}").json()["status"] == "succeeded",
                within=60,
                what="a job on the new worker",
            )
        family = serve.family()
        pid = second
        # Killed as soon as it is back, until serve gives up (a few restarts at most).
        for _ in range(6):
            os.kill(pid, signal.SIGKILL)

            def replaced(last: int = pid) -> int | None:
                if serve.process.poll() is not None:
                    return -1
                try:
                    now = int((state_dir / "worker.pid").read_text())
                except (OSError, ValueError):
                    return None  # serve is giving up: it removed the worker's pid file
                return now if now != last and alive(now) else None

            pid = eventually_sync(replaced, within=30, what="the next worker")
            family |= serve.family()
            if pid == -1:
                break
        serve.process.wait(60)
        time.sleep(0.5)
    finally:
        if serve.process.poll() is None:
            serve.kill_everything()

    assert "the worker (pid" in serve.output
    assert "Started the worker again" in serve.output
    assert serve.process.returncode == 1
    assert re.search(r"the worker died \d times within 60 s", serve.output)
    assert {p for p in family if alive(p)} == set()
