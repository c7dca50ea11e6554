"""What the job store writes reads back the same through the job feed's notifications."""

from __future__ import annotations

import json

import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.job_repository import PostgresJobRepository, job_from_row
from adapters.system_clock import SystemClock
from domain.jobs.model import Job, new_job_id
from domain.jobs.store import update_job
from domain.shared.metrics import MetricResult

ROW_AS_NOTIFIED = "SELECT row_to_json(j)::text FROM experiments.jobs j WHERE id = %s"


@pytest.mark.parametrize(
    "result",
    [166666091666880000000, {"p_value": 1e-300, "mean": 371.7442273534636, "srm": False}],
)
async def test_a_row_as_the_trigger_sends_it_reads_back_as_the_stored_job(
    pool: AsyncConnectionPool, result: MetricResult
) -> None:
    jobs = PostgresJobRepository(pool)
    clock = SystemClock()
    job, _ = await jobs.add(
        Job.queued(
            id=new_job_id(),
            metric="ab_test",
            params={"table": "df_sales", "alpha": 0.05},
            idempotency_key=None,
            now=clock.now(),
        ),
        max_active=10,
    )
    started, _ = await update_job(
        jobs, job, lambda j: j.start(worker="w:1", max_attempts=3, now=clock.now())
    )
    assert started is not None
    done, _ = await update_job(
        jobs, started, lambda j: j.finished(attempt=1, now=clock.now(), result=result)
    )

    async with pool.connection() as conn:
        cur = await conn.execute(ROW_AS_NOTIFIED, (job.id,))
        row = await cur.fetchone()
    assert row is not None
    notified = job_from_row(json.loads(row[0]))

    assert notified == done
    assert notified.result == result
