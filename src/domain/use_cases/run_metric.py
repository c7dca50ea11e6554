from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from domain.errors import Unavailable
from domain.job import Job, JobStatus, parse_job_id
from domain.metric import DEFAULT_ITERATIONS, MetricStopped, calculate_metric
from domain.ports.jobs import JobRepository


@dataclass(frozen=True, slots=True, kw_only=True)
class RunLimits:
    iterations: int = DEFAULT_ITERATIONS
    max_attempts: int = 3
    """Deliveries of one job before it is failed (a job that kills its worker every time)."""
    time_limit: float = 600.0
    """Seconds a run may take before it stops and fails."""


class RunMetric:
    """Runs one delivery of a job, on a worker.

    - Only a queued or running job starts: a running one whose message came back (its worker
      was lost) runs again as a new attempt. A cancelled or finished job is left as it is.
    - Each start counts an attempt; past `max_attempts` the job fails without running.
    - Progress is recorded every 2%; at each of those points a requested cancel or the time
      limit stops the run.
    - Only the current attempt may write: a run overtaken by a newer attempt stops at its next
      check and writes nothing.
    - When the job store is unavailable the run is given back to the queue, not failed.
    """

    def __init__(self, jobs: JobRepository, limits: RunLimits, worker: str) -> None:
        self._jobs = jobs
        self._limits = limits
        self._worker = worker

    async def __call__(self, job_id: str) -> Job | None:
        job = await self._jobs.start(
            parse_job_id(job_id), worker=self._worker, max_attempts=self._limits.max_attempts
        )
        if job is None or job.status is not JobStatus.RUNNING:
            return job
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self._limits.time_limit
        keep_going = True
        timed_out = False

        def on_progress(fraction: float) -> None:
            nonlocal keep_going
            report = self._jobs.report_progress(job.id, job.attempts, fraction)
            keep_going = asyncio.run_coroutine_threadsafe(report, loop).result()

        def should_stop() -> bool:
            nonlocal timed_out
            timed_out = time.monotonic() > deadline
            return timed_out or not keep_going

        try:
            result = await asyncio.to_thread(
                calculate_metric,
                self._limits.iterations,
                on_progress=on_progress,
                should_stop=should_stop,
            )
        except MetricStopped:
            if timed_out:
                error = f"Stopped after the time limit of {self._limits.time_limit:g} s."
                return await self._jobs.finish(job.id, job.attempts, error=error)
            return await self._jobs.finish(job.id, job.attempts, cancelled=True)
        except Unavailable:
            # Not the job's fault, and nothing can be recorded now: the worker retries later.
            raise
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            await self._jobs.finish(job.id, job.attempts, error=message)
            raise
        return await self._jobs.finish(job.id, job.attempts, result=result)
