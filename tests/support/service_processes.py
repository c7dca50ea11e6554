"""The service as it runs for real, for the fault tier: `experiments api` and `experiments
worker` processes (each leading its own process group) on the tests' own servers, with the
means to kill them as a crash, an OOM killer or a lost host would, and to read what they
wrote and what the job store holds."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from devtools.embedded import free_port
from devtools.processes import alive, group_members, stop_process_group, wait_gone
from tests.support.polling import eventually_sync

EXPERIMENTS = Path(sys.executable).with_name("experiments")
FINAL = frozenset({"succeeded", "failed", "cancelled"})


class ServiceProcess:
    """One `experiments` command in a session of its own; its output kept line by line (and
    in `log_file`, to read after a failure)."""

    def __init__(self, args: list[str], env: Mapping[str, str], log_file: Path) -> None:
        self.args = args
        self.env = dict(env)
        self.log_file = log_file
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._since = 0

    def start(self) -> None:
        self._since = len(self.lines)
        self.process = subprocess.Popen(
            [str(EXPERIMENTS), *self.args],
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        with self.log_file.open("a") as log:
            for line in process.stdout:
                self.lines.append(line)
                log.write(line)
                log.flush()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        """What the current run wrote (`lines` keeps every run's)."""
        return "".join(self.lines[self._since :])

    def signal(self, signum: signal.Signals) -> None:
        os.kill(self.pid, signum)

    def kill_group(self) -> None:
        """SIGKILL to the process and all its children at once: its host is gone."""
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait(30)
        wait_gone(group_members(self.pid), 10)

    def children(self) -> list[int]:
        return [pid for pid in group_members(self.pid) if pid != self.pid]

    def stop(self, grace: float = 20) -> None:
        if self.process is not None:
            stop_process_group(self.process, grace=grace)


class Api(ServiceProcess):
    def __init__(self, env: Mapping[str, str], log_file: Path) -> None:
        self.port = free_port()
        super().__init__(["api", "--port", str(self.port)], env, log_file)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        super().start()

        def answers() -> bool:
            if not self.running:
                raise RuntimeError("the API exited:\n" + self.output())
            return httpx.get(f"{self.url}/health", timeout=5).status_code == 200

        eventually_sync(answers, within=60, what="the API", ignoring=(httpx.TransportError,))


class Worker(ServiceProcess):
    def __init__(self, env: Mapping[str, str], log_file: Path, *, concurrency: int = 1) -> None:
        super().__init__(["worker", f"--concurrency={concurrency}"], env, log_file)
        self.concurrency = concurrency

    def start(self, *, wait: bool = True) -> None:
        super().start()
        if wait:
            self.wait_ready()

    def wait_ready(self, within: float = 60) -> None:
        def ready() -> bool:
            if not self.running:
                raise RuntimeError("the worker exited:\n" + self.output())
            return " ready." in self.output() and len(self.children()) >= self.concurrency

        eventually_sync(ready, within=within, what="the worker", every=0.1)

    def kill_child(self) -> int:
        """SIGKILL to one of its prefork children (the OOM killer's way): returns its pid."""
        [child, *_] = self.children()
        os.kill(child, signal.SIGKILL)
        return child

    def restart(self) -> None:
        self.stop(grace=5)
        self.start()


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRow:
    id: str
    status: str
    attempts: int
    error: str | None
    worker: str | None
    result: Any


class JobStore:
    """Reads the jobs table directly: what every fault must leave right."""

    def __init__(self, url: str) -> None:
        self.url = url

    def jobs(self) -> dict[str, JobRow]:
        with psycopg.connect(self.url, row_factory=dict_row, connect_timeout=5) as conn:
            rows = conn.execute(
                "SELECT id::text, status, attempts, error, worker, result FROM experiments.jobs"
            ).fetchall()
        return {
            row["id"]: JobRow(
                id=row["id"],
                status=row["status"],
                attempts=row["attempts"],
                error=row["error"],
                worker=row["worker"],
                result=row["result"],
            )
            for row in rows
        }

    def statuses(self) -> Counter[str]:
        return Counter(job.status for job in self.jobs().values())

    def wait_final(self, ids: set[str], within: float) -> dict[str, JobRow]:
        """Waits until every job of `ids` is in a final state; returns them all."""

        def done() -> dict[str, JobRow] | None:
            jobs = self.jobs()
            if all(job_id in jobs and jobs[job_id].status in FINAL for job_id in ids):
                return {job_id: jobs[job_id] for job_id in ids}
            return None

        return eventually_sync(
            done,
            within=within,
            what=f"{len(ids)} jobs to end",
            every=0.5,
            ignoring=(psycopg.OperationalError,),
        )

    def wait_status(self, job_id: str, status: str, within: float) -> JobRow:
        def reached() -> JobRow | None:
            job = self.jobs().get(job_id)
            return job if job is not None and job.status == status else None

        return eventually_sync(reached, within=within, what=f"job {job_id} {status}", every=0.1)


def completions(
    *workers: ServiceProcess, of: Collection[str], lost: int = 0, within: float = 15
) -> Counter[str]:
    """How many times each job was recorded as succeeded, over the workers' logs (a job run
    twice to completion would count 2), once every job of `of` is there at least once, or
    all but `lost` of them.

    A worker logs the change just after its commit, so a test that saw the job final in the
    store may read the log before the line has come through the pipe; and a worker killed
    between the two takes the line with it (what `lost` allows for)."""

    def counted() -> tuple[Counter[str]] | None:
        found: Counter[str] = Counter()
        for worker in workers:
            for line in list(worker.lines):
                if match := re.search(r"Job ([0-9a-f-]{36}) succeeded", line):
                    found[match.group(1)] += 1
        missing = sum(job_id not in found for job_id in of)
        # In a tuple: an empty count (every line lost) is an answer too, not a falsy "not yet".
        return (found,) if missing <= lost else None

    (found,) = eventually_sync(counted, within=within, what=f"{len(of)} jobs' completion lines")
    return found


def launch(client: httpx.Client, **kwargs: Any) -> str:
    response = client.post("/launch", **kwargs)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


class Service:
    """The service's processes on the tests' own servers: `api()` and `worker()` start them
    (stopped after the test); `store` reads the job store."""

    def __init__(self, env: Mapping[str, str], logs: Path) -> None:
        self.env = dict(env)
        self.logs = logs
        self.store = JobStore(env["DATABASE_URL"])
        self._processes: list[ServiceProcess] = []

    def api(self, **variables: object) -> Api:
        api = Api(self._env(variables), self._log("api"))
        self._processes.append(api)
        api.start()
        return api

    def worker(self, *, concurrency: int = 1, wait: bool = True, **variables: object) -> Worker:
        worker = Worker(self._env(variables), self._log("worker"), concurrency=concurrency)
        self._processes.append(worker)
        worker.start(wait=wait)
        return worker

    def workers(self) -> list[Worker]:
        return [process for process in self._processes if isinstance(process, Worker)]

    def _env(self, variables: Mapping[str, object]) -> dict[str, str]:
        return {**self.env, **{name: str(value) for name, value in variables.items()}}

    def _log(self, kind: str) -> Path:
        return self.logs / f"{kind}-{len(self._processes)}-{uuid.uuid4().hex[:6]}.log"

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.stop(grace=10)

    @contextmanager
    def client(self, api: Api, timeout: float = 30) -> Iterator[httpx.Client]:
        with httpx.Client(base_url=api.url, timeout=timeout) as client:
            yield client


def elapsed(since: float) -> float:
    return time.monotonic() - since


def no_process_left(*pids: int) -> bool:
    return not any(alive(pid) for pid in pids)
