"""API processes delete old finished jobs in the background, and only those."""

from __future__ import annotations

import datetime as dt

from psycopg_pool import AsyncConnectionPool

from adapters.postgres.job_repository import PostgresJobRepository
from adapters.system_clock import SystemClock
from domain.jobs.model import Job, JobId, new_job_id
from domain.jobs.store import update_job
from entrypoints.config.settings import Settings
from entrypoints.di.providers import make_container
from entrypoints.http.retention import retention
from tests.support.polling import eventually

AGED = "UPDATE experiments.jobs SET created_at = created_at - %s, finished_at = finished_at - %s"


async def test_old_finished_jobs_are_deleted_and_active_ones_kept(settings: Settings) -> None:
    container = make_container(settings)
    try:
        pool = await container.get(AsyncConnectionPool)
        jobs, clock = PostgresJobRepository(pool), SystemClock()

        async def add() -> Job:
            job, _ = await jobs.add(
                Job.queued(id=new_job_id(), metric="m", idempotency_key=None, now=clock.now()),
                max_active=100,
            )
            return job

        finished, queued, running = await add(), await add(), await add()
        await update_job(jobs, finished, lambda j: j.cancel(now=clock.now()))
        await update_job(
            jobs, running, lambda j: j.start(worker="w", max_attempts=3, now=clock.now(), lease=30)
        )
        ten_days = dt.timedelta(days=10)
        async with pool.connection() as conn:
            await conn.execute(AGED, (ten_days, ten_days))
        fresh = await add()
        await update_job(jobs, fresh, lambda j: j.cancel(now=clock.now()))

        async def left() -> set[JobId] | None:
            ids = {job.id for job in (await jobs.list(limit=10)).jobs}
            return ids if finished.id not in ids else None

        async with retention(container, 7, every=0.05, first_after=0):
            kept = await eventually(left, within=10, what="the old job deleted")

        assert kept == {queued.id, running.id, fresh.id}
    finally:
        await container.close()
