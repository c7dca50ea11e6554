"""What the job store writes reads back the same through the job feed's notifications."""

from __future__ import annotations

import json

import numpy as np
import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.postgres.job_repository import PostgresJobRepository, job_from_row
from adapters.postgres.recovery import PostgresRecoveryCounters
from adapters.system_clock import SystemClock
from domain.analytics.ab_test import analyse
from domain.analytics.experiment import GroupValues, UserAggregates
from domain.analytics.parameters import params_json, parse_params
from domain.jobs.model import Job, new_job_id
from domain.jobs.store import update_job
from domain.shared.metrics import MetricResult
from domain.shared.recovery import RecoveryTotals
from tests.support.jobs import JobStore

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
        jobs, job, lambda j: j.start(worker="w:1", max_attempts=3, now=clock.now(), lease=30)
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


def longest(value: object) -> object:
    """Every float written as long as a float gets; everything else as it is."""
    if isinstance(value, dict):
        return {key: longest(item) for key, item in value.items()}
    if isinstance(value, float):
        return -1.2345678901234567e-300
    return value


async def test_the_largest_ab_test_job_still_fits_in_a_change_notification(
    pool: AsyncConnectionPool,
) -> None:
    name, table = "n" * 63, "t" * 255
    params = parse_params(
        {
            "table": table,
            "assignments": {
                "table": table, "user_column": name, "group_column": name,
                "control": "c" * 200, "treatment": "t" * 200,
            },
            "aggregate": "mean", "value": name, "cuped": True,
            "from_date": "2023-10-01", "to_date": "2023-12-31",
        }
    )  # fmt: skip
    rng = np.random.default_rng(1)

    def group(users: int) -> GroupValues:
        return GroupValues(
            assigned=users,
            metric=rng.random(users),
            denominator=None,
            covariate=rng.random(users),
        )

    result = longest(
        analyse(params, UserAggregates(control=group(50), treatment=group(60), excluded=7))
    )
    assert isinstance(result, dict)
    jobs, clock = PostgresJobRepository(pool), SystemClock()
    job, _ = await jobs.add(
        Job.queued(
            id=new_job_id(),
            metric="ab_test",
            params=params_json(params),
            idempotency_key="k" * 255,
            now=clock.now(),
        ),
        max_active=10,
    )
    started, _ = await update_job(
        jobs, job, lambda j: j.start(worker="w" * 100, max_attempts=3, now=clock.now(), lease=30)
    )
    assert started is not None

    _, changed = await update_job(
        jobs, started, lambda j: j.finished(attempt=1, now=clock.now(), result=result)
    )

    assert changed
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT octet_length(row_to_json(j)::text) FROM experiments.jobs j WHERE id = %s",
            (job.id,),
        )
        row = await cur.fetchone()
    assert row is not None
    assert row[0] < 8000 - 500, "the job feed's pg_notify payload must stay under 8000 bytes"


ACTIVE = "SELECT count FROM experiments.active_jobs"
COUNTED = "SELECT count(*) FROM experiments.jobs WHERE status IN ('queued', 'running')"


async def test_the_active_count_follows_every_change_to_the_jobs(pool: AsyncConnectionPool) -> None:
    jobs = PostgresJobRepository(pool)
    clock = SystemClock()

    async def counts() -> tuple[int, int]:
        async with pool.connection() as conn:
            kept = await (await conn.execute(ACTIVE)).fetchone()
            real = await (await conn.execute(COUNTED)).fetchone()
        assert kept is not None
        assert real is not None
        return kept[0], real[0]

    added = [
        (
            await jobs.add(
                Job.queued(id=new_job_id(), metric="m", idempotency_key=None, now=clock.now()),
                max_active=10,
            )
        )[0]
        for _ in range(4)
    ]
    seen = [await counts()]
    await update_job(
        jobs, added[0], lambda j: j.start(worker="w", max_attempts=3, now=clock.now(), lease=30)
    )
    seen.append(await counts())
    await update_job(jobs, added[1], lambda j: j.cancel(now=clock.now()))
    seen.append(await counts())
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM experiments.jobs WHERE id = %s", (added[2].id,))
    seen.append(await counts())
    async with pool.connection() as conn:
        await conn.execute("TRUNCATE experiments.jobs")
    seen.append(await counts())

    assert seen == [(4, 4), (4, 4), (3, 3), (2, 2), (0, 0)]


async def test_recovery_counts_add_up_every_loss_and_message_sent_again(
    pool: AsyncConnectionPool,
) -> None:
    jobs = PostgresJobRepository(pool)
    store = JobStore(jobs, SystemClock())
    counters = PostgresRecoveryCounters(pool)
    before = await counters.totals()
    lost, _ = await store.add()
    waiting, _ = await store.add()
    await store.start(lost.id, worker="w:1", max_attempts=3, lease=0)
    await store.expire_lease(lost.id, max_attempts=3)
    await store.start(lost.id, worker="w:2", max_attempts=3, lease=0)
    await store.start(lost.id, worker="w:3", max_attempts=3)
    now = SystemClock().now()
    await update_job(jobs, waiting.id, lambda j: j.republish(now=now, after=0))

    after = await counters.totals()

    assert before == RecoveryTotals(lost=0, republished=0)
    assert after == RecoveryTotals(lost=2, republished=2)
