"""Jobs through faults of the broker, the workers and the API: every job ends in a final
state, none twice, with the attempts it should have (docs/reliability.md, rows J1-J11)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from contextlib import suppress

import httpx
import psycopg

from adapters.celery.app import RUN_METRIC_TASK, QueueConfig, create_celery
from tests.support.own_servers import OwnRedis
from tests.support.polling import eventually_sync
from tests.support.service_processes import Service, completions, launch

LONG = 5_000_000
"""METRIC_ITERATIONS of a run that lasts several seconds (about a million a second)."""


def test_jobs_queued_when_redis_comes_back_empty_are_published_again_and_succeed(
    service: Service, broker: OwnRedis
) -> None:
    api = service.api(MAX_ACTIVE_JOBS=4)
    with service.client(api) as client:
        ids = {launch(client) for _ in range(4)}
        assert client.post("/launch").status_code == 429
        broker.restart(lose_data=True)
        worker = service.worker()

        jobs = service.store.wait_final(ids, within=90)

        assert {job.status for job in jobs.values()} == {"succeeded"}
        assert {job.attempts for job in jobs.values()} == {1}
        assert completions(worker, of=ids) == dict.fromkeys(ids, 1)
        # The slots are free again: launching works.
        assert client.post("/launch").status_code == 202


def test_a_job_whose_api_died_before_publishing_is_published_and_succeeds(
    service: Service, broker: OwnRedis
) -> None:
    api = service.api()
    with service.client(api) as client:
        assert client.get("/jobs").status_code == 200  # the schema is there to LISTEN on
    # Redis holds every write: the API commits the job, then waits on its publish; it is
    # killed the moment the commit is announced, and its unsent message dies with it.
    with psycopg.connect(service.store.url, autocommit=True) as listener:
        listener.execute("LISTEN experiments_jobs")
        broker.pause(20)

        def post() -> None:
            with suppress(httpx.HTTPError):
                httpx.post(f"{api.url}/launch", timeout=30)

        threading.Thread(target=post, daemon=True).start()
        notice = next(listener.notifies(timeout=15))
        os.killpg(api.pid, signal.SIGKILL)
    job_id = json.loads(notice.payload)["id"]
    api.kill_group()
    with broker.client() as client:
        client.execute_command("CLIENT", "UNPAUSE")
        assert client.llen("experiments") == 0
    service.api()
    worker = service.worker()

    job = service.store.wait_final({job_id}, within=90)[job_id]

    assert (job.status, job.attempts) == ("succeeded", 1)
    assert completions(worker, of={job_id}) == {job_id: 1}


def test_a_job_whose_worker_host_is_lost_runs_again_elsewhere_and_succeeds(
    service: Service,
) -> None:
    api = service.api()
    lost = service.worker(METRIC_ITERATIONS=LONG)
    with service.client(api) as client:
        job_id = launch(client)
        service.store.wait_status(job_id, "running", within=30)
        lost.kill_group()
        # The spare worker's sweeper finds the job's lease run out: it must be requeued and
        # run again, not failed as lost.
        other = launch(client)
        spare = service.worker()

        jobs = service.store.wait_final({job_id, other}, within=90)

    assert (jobs[job_id].status, jobs[job_id].attempts) == ("succeeded", 2)
    assert (jobs[other].status, jobs[other].attempts) == ("succeeded", 1)
    assert completions(lost, spare, of={job_id, other}) == {job_id: 1, other: 1}


def test_a_job_whose_worker_main_process_is_killed_ends_succeeded_once(
    service: Service,
) -> None:
    api = service.api()
    killed = service.worker(METRIC_ITERATIONS=LONG)
    with service.client(api) as client:
        job_id = launch(client)
        service.store.wait_status(job_id, "running", within=30)
        killed.signal(signal.SIGKILL)
        spare = service.worker()

        job = service.store.wait_final({job_id}, within=120)[job_id]

    assert job.status == "succeeded"
    assert job.attempts in {1, 2}
    assert completions(killed, spare, of={job_id}) == {job_id: 1}


def test_a_duplicate_delivery_while_the_job_runs_does_nothing(
    service: Service, broker: OwnRedis
) -> None:
    api = service.api()
    worker = service.worker(concurrency=2, METRIC_ITERATIONS=5_000_000)
    app = create_celery(QueueConfig(broker_url=broker.url, queue="experiments", kill_after=60))
    with service.client(api) as client:
        job_id = launch(client)
        service.store.wait_status(job_id, "running", within=30)
        for _ in range(3):
            app.send_task(RUN_METRIC_TASK, args=[job_id])
            time.sleep(0.5)

        job = service.store.wait_final({job_id}, within=60)[job_id]

    assert (job.status, job.attempts) == ("succeeded", 1)
    assert completions(worker, of={job_id}) == {job_id: 1}


def test_a_killed_worker_child_gives_its_job_back_and_it_succeeds(service: Service) -> None:
    api = service.api()
    worker = service.worker(METRIC_ITERATIONS=LONG)
    with service.client(api) as client:
        job_id = launch(client)
        service.store.wait_status(job_id, "running", within=30)
        worker.kill_child()

        job = service.store.wait_final({job_id}, within=120)[job_id]

    assert (job.status, job.attempts) == ("succeeded", 2)
    assert completions(worker, of={job_id}) == {job_id: 1}


def test_a_job_that_kills_its_worker_every_time_fails_after_its_attempts(
    service: Service,
) -> None:
    api = service.api()
    worker = service.worker(METRIC_ITERATIONS=LONG)
    with service.client(api) as client:
        job_id = launch(client)
        for attempt in (1, 2, 3):

            def running(attempt: int = attempt) -> bool:
                job = service.store.jobs()[job_id]
                return job.status == "running" and job.attempts == attempt

            eventually_sync(running, within=60, what=f"attempt {attempt}", every=0.1)
            worker.kill_child()

        job = service.store.wait_final({job_id}, within=60)[job_id]

    assert (job.status, job.attempts) == ("failed", 3)
    assert "3 attempts" in (job.error or "")
    assert worker.running


def test_a_run_past_the_time_limit_fails_and_frees_its_slot(service: Service) -> None:
    api = service.api(MAX_ACTIVE_JOBS=1)
    service.worker(METRIC_ITERATIONS=10**9, JOB_TIME_LIMIT=2)
    with service.client(api) as client:
        job_id = launch(client)

        job = service.store.wait_final({job_id}, within=60)[job_id]

        assert (job.status, job.attempts) == ("failed", 1)
        assert "time limit" in (job.error or "")
        assert client.post("/launch").status_code == 202


def test_redis_restarted_from_its_append_only_file_keeps_queued_jobs(
    service: Service, broker: OwnRedis
) -> None:
    api = service.api()
    with service.client(api) as client:
        ids = {launch(client) for _ in range(5)}
    broker.restart(lose_data=False)
    worker = service.worker()

    jobs = service.store.wait_final(ids, within=60)

    assert {(job.status, job.attempts) for job in jobs.values()} == {("succeeded", 1)}
    assert completions(worker, of=ids) == dict.fromkeys(ids, 1)


def test_a_worker_started_while_redis_refuses_writes_serves_once_it_can(
    service: Service, broker: OwnRedis
) -> None:
    api = service.api()
    broker.fill_past_maxmemory()
    worker = service.worker(wait=False)
    time.sleep(8)
    assert worker.running, worker.output()
    broker.free_memory()
    worker.wait_ready(within=60)
    with service.client(api) as client:
        job_id = launch(client)

        job = service.store.wait_final({job_id}, within=60)[job_id]

    assert (job.status, job.attempts) == ("succeeded", 1)


def test_a_worker_started_before_redis_is_up_serves_once_it_is(
    service: Service, broker: OwnRedis
) -> None:
    api = service.api()
    broker.shutdown(lose_data=False)
    worker = service.worker(wait=False)
    time.sleep(5)
    broker.start()
    worker.wait_ready(within=60)
    with service.client(api) as client:
        job_id = launch(client)

        job = service.store.wait_final({job_id}, within=60)[job_id]

    assert (job.status, job.attempts) == ("succeeded", 1)
