from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from domain.jobs.limits import JobLimits
from domain.jobs.model import Job, JobStatus, parse_job_id
from domain.jobs.ports import JobRepository, WorkerProbe
from domain.jobs.store import Change, update_job
from domain.shared.clock import Clock
from domain.shared.errors import Unavailable
from domain.shared.metrics import MetricRegistry, MetricStopped, Progress


class RunMetric:
    """Runs one delivery of a job, on a worker.

    - Only a queued job starts, or a running one whose worker was lost (its lease ran out,
      or its process is known dead: a killed child on this host; or it is this very worker,
      whose run ended): that one runs again as a new attempt. A delivery of a job running
      under a live lease (a duplicate message) does nothing and uses no attempt; a cancelled
      or finished job is left as it is.
    - Each start counts an attempt; past `max_attempts` the job fails without running.
    - The job's metric runs with the parameters it was launched with; a metric this worker
      does not know fails the job.
    - Progress is written as the metric reports it, at most once per `progress_interval`
      (and whenever the phase changes); the end is always written. Each write renews the
      run's lease, and so does a heartbeat when the metric reports nothing for a while.
    - A requested cancel, seen in the answer to any of those writes, or the time limit stops
      the run at its next check.
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
        workers: WorkerProbe,
        *,
        worker: str,
    ) -> None:
        self._jobs = jobs
        self._limits = limits
        self._clock = clock
        self._metrics = metrics
        self._workers = workers
        self._worker = worker

    async def __call__(self, job_id: str) -> Job | None:
        limits = self._limits
        current = await self._jobs.get(parse_job_id(job_id))
        if current is None:
            return None
        gone = None
        if current.status is JobStatus.RUNNING and current.worker is not None:
            # A worker runs one job at a time: a delivery to the very worker that holds the
            # job means its run there ended (a retry after the job store was away).
            mine = current.worker == self._worker
            if mine or await self._workers.gone(current.worker):
                gone = current.worker
        job, started = await update_job(
            self._jobs,
            current,
            lambda j: j.start(
                worker=self._worker,
                max_attempts=limits.max_attempts,
                now=self._clock.now(),
                lease=limits.lease,
                holder_gone=gone is not None and j.worker == gone,
            ),
        )
        if job is None or not started or job.status is not JobStatus.RUNNING:
            return job
        return await self._run(job)

    async def _run(self, job: Job) -> Job | None:
        limits, now = self._limits, self._clock.now
        run = _Attempt(self._jobs, limits, self._clock, job)
        attempt = job.attempts

        async def end(change: Change) -> Job | None:
            ended, applied = await update_job(self._jobs, run.view, change)
            return ended if applied else None

        metric = self._metrics.get(job.metric)
        if metric is None:
            unknown = job.metric
            return await end(
                lambda j: j.finished(
                    attempt=attempt, now=now(), error=f"This worker has no metric {unknown!r}."
                )
            )
        try:
            async with run.heartbeats():
                result = await metric.run(
                    job.params,
                    Progress(report=run.record, should_stop=run.should_stop, due=run.due),
                )
        except MetricStopped:
            if run.timed_out:
                limit = limits.time_limit
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


class _Attempt:
    """One attempt's writes while it runs: progress at most every `progress_interval`, a
    heartbeat when there is none for a while, each renewing the lease and bringing back what
    it must know (a cancel, a newer attempt)."""

    def __init__(self, jobs: JobRepository, limits: JobLimits, clock: Clock, job: Job) -> None:
        self._jobs = jobs
        self._limits = limits
        self._clock = clock
        self._attempt = job.attempts
        self._deadline = time.monotonic() + limits.time_limit
        self._written_at = time.monotonic()
        self._latest: tuple[float, str | None] = (job.progress, job.phase)
        self._writing = asyncio.Lock()
        self._keep_going = True
        self.view = job
        self.timed_out = False

    async def record(self, fraction: float, phase: str | None) -> bool:
        self._latest = (fraction, phase)
        if (phase is not None and phase != self.view.phase) or self.due():
            await self._write()
        return self._keep_going

    def due(self) -> bool:
        return time.monotonic() - self._written_at >= self._limits.progress_interval

    def should_stop(self) -> bool:
        self.timed_out = time.monotonic() > self._deadline
        return self.timed_out or not self._keep_going

    @contextlib.asynccontextmanager
    async def heartbeats(self) -> AsyncIterator[None]:
        beating = asyncio.create_task(self._beat())
        try:
            yield
        finally:
            async with self._writing:  # never in the middle of a write
                beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def _beat(self) -> None:
        every = self._limits.heartbeat
        while True:
            await asyncio.sleep(max(0.0, self._written_at + every - time.monotonic()))
            if time.monotonic() - self._written_at >= every:
                # The job store unreachable for a moment: the next beat tries again.
                with contextlib.suppress(Unavailable):
                    await self._write()

    async def _write(self) -> None:
        async with self._writing:
            fraction, phase = self._latest
            attempt, lease, now = self._attempt, self._limits.lease, self._clock.now()
            current, _ = await update_job(
                self._jobs,
                self.view,
                lambda j: j.progressed(
                    attempt=attempt, progress=fraction, phase=phase, now=now, lease=lease
                ),
            )
            self._written_at = time.monotonic()
            if current is not None:
                self.view = current
            self._keep_going = current is not None and not current.should_stop(attempt)
