from __future__ import annotations

import time

from domain.jobs.limits import JobLimits
from domain.jobs.model import Job, JobStatus, parse_job_id
from domain.jobs.ports import JobRepository
from domain.jobs.store import Change, update_job
from domain.shared.clock import Clock
from domain.shared.errors import Unavailable
from domain.shared.metrics import MetricRegistry, MetricStopped, Progress


class RunMetric:
    """Runs one delivery of a job, on a worker.

    - Only a queued or running job starts: a running one whose message came back (its worker
      was lost) runs again as a new attempt. A cancelled or finished job is left as it is.
    - Each start counts an attempt; past `max_attempts` the job fails without running.
    - The job's metric runs with the parameters it was launched with; a metric this worker
      does not know fails the job.
    - Progress is recorded as the metric reports it (every 2% for `calculate_metric`, at
      each phase for `ab_test`); at each of those points a requested cancel or the time
      limit stops the run.
    - Only the current attempt may write: a run overtaken by a newer attempt stops at its next
      check and writes nothing.
    - When the job store is unavailable the run is given back to the queue, not failed.
    """

    def __init__(
        self,
        jobs: JobRepository,
        limits: JobLimits,
        clock: Clock,
        metrics: MetricRegistry,
        *,
        worker: str,
    ) -> None:
        self._jobs = jobs
        self._limits = limits
        self._clock = clock
        self._metrics = metrics
        self._worker = worker

    async def __call__(self, job_id: str) -> Job | None:
        job, started = await update_job(
            self._jobs,
            parse_job_id(job_id),
            lambda j: j.start(
                worker=self._worker, max_attempts=self._limits.max_attempts, now=self._clock.now()
            ),
        )
        if job is None or not started or job.status is not JobStatus.RUNNING:
            return job
        return await self._run(job)

    async def _run(self, job: Job) -> Job | None:
        attempt, view = job.attempts, job
        deadline = time.monotonic() + self._limits.time_limit
        keep_going = True
        timed_out = False

        async def record(fraction: float, phase: str | None) -> bool:
            nonlocal view, keep_going
            current, _ = await update_job(
                self._jobs,
                view,
                lambda j: j.progressed(attempt=attempt, progress=fraction, phase=phase),
            )
            if current is not None:
                view = current
            keep_going = current is not None and not current.should_stop(attempt)
            return keep_going

        def should_stop() -> bool:
            nonlocal timed_out
            timed_out = time.monotonic() > deadline
            return timed_out or not keep_going

        async def end(change: Change) -> Job | None:
            ended, applied = await update_job(self._jobs, view, change)
            return ended if applied else None

        now = self._clock.now
        metric = self._metrics.get(job.metric)
        if metric is None:
            unknown = job.metric
            return await end(
                lambda j: j.finished(
                    attempt=attempt, now=now(), error=f"This worker has no metric {unknown!r}."
                )
            )
        try:
            result = await metric.run(job.params, Progress(report=record, should_stop=should_stop))
        except MetricStopped:
            if timed_out:
                limit = self._limits.time_limit
                return await end(
                    lambda j: j.timed_out(attempt=attempt, time_limit=limit, now=now())
                )
            return await end(lambda j: j.finished(attempt=attempt, now=now(), cancelled=True))
        except Unavailable:
            # Not the job's fault, and nothing can be recorded now: the worker retries later.
            raise
        except Exception as error:
            crash = error
            await end(lambda j: j.crashed(attempt=attempt, error=crash, now=now()))
            raise
        return await end(lambda j: j.finished(attempt=attempt, now=now(), result=result))
