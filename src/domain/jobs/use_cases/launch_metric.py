from __future__ import annotations

from collections.abc import Mapping

from domain.jobs.errors import QueueUnavailable
from domain.jobs.limits import JobLimits
from domain.jobs.model import Job, check_idempotency_key, new_job_id
from domain.jobs.ports import JobRepository, TaskQueue
from domain.jobs.store import update_job
from domain.shared.clock import Clock
from domain.shared.metrics import MetricRegistry

METRIC_NAME = "calculate_metric"
"""What a launch without a metric runs: the brief's."""


class LaunchMetric:
    """Queues a run of a metric (`calculate_metric` unless another is named) and returns its
    job at once, without waiting for it.

    - The metric's parameters are checked before anything is queued: an unknown metric or a
      wrong parameter is a 400 naming it, and no job exists.
    - The same `Idempotency-Key` returns the same job and queues nothing new.
    - When `max_active_jobs` jobs are already queued or running, nothing is created (429).
      A launch never sweeps: jobs whose worker vanished, or whose message was lost, are given
      back to the workers by `RecoverJobs`, so they do not hold their slots for long.
    - When the broker cannot take the job, it is marked failed, never left queued, and the
      launch answers 503; a retry with the same `Idempotency-Key` launches anew.
    """

    def __init__(
        self,
        jobs: JobRepository,
        queue: TaskQueue,
        limits: JobLimits,
        clock: Clock,
        metrics: MetricRegistry,
    ) -> None:
        self._jobs = jobs
        self._queue = queue
        self._limits = limits
        self._clock = clock
        self._metrics = metrics

    async def __call__(
        self,
        *,
        metric: str = METRIC_NAME,
        params: Mapping[str, object] | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        key = check_idempotency_key(idempotency_key) if idempotency_key is not None else None
        checked = await self._metrics.require(metric).validate(params or {})
        job, created = await self._jobs.add(
            Job.queued(
                id=new_job_id(),
                metric=metric,
                params=checked,
                idempotency_key=key,
                now=self._clock.now(),
            ),
            max_active=self._limits.max_active,
        )
        if not created:
            return job
        try:
            await self._queue.enqueue(job.id)
        except QueueUnavailable as error:
            reason, now = error.detail, self._clock.now()
            await update_job(self._jobs, job, lambda j: j.not_queued(reason=reason, now=now))
            raise
        return job
