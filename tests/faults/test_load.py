"""F-style load: many launches at once while workers are killed every few seconds
(docs/reliability.md, row L2): every job ends `succeeded`, none ran twice to completion."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.service_processes import Service, Worker, completions

JOBS = int(os.environ.get("FAULTS_LOAD_JOBS", "500"))
"""Launches of the load test (FAULTS_LOAD_JOBS to change it)."""
CONCURRENCY = 20
KILL_EVERY = 3.0


def launch_all(url: str, count: int, concurrency: int) -> list[httpx.Response]:
    # A connection of its own a launch: one httpx client shared by 50 threads once closed a
    # socket in one thread that another was reading (EBADF in the client, not the service).
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda _: httpx.post(f"{url}/launch", timeout=60), range(count)))


def test_300_concurrent_launches_all_succeed(service: Service) -> None:
    api = service.api(MAX_ACTIVE_JOBS=1000)
    worker = service.worker(concurrency=2, METRIC_ITERATIONS=20_000)

    responses = launch_all(api.url, 300, 50)
    ids = {response.json()["job_id"] for response in responses}
    jobs = service.store.wait_final(ids, within=240)

    assert [r.status_code for r in responses] == [202] * 300
    assert len(ids) == 300
    assert {(job.status, job.attempts) for job in jobs.values()} == {("succeeded", 1)}
    assert completions(worker, of=ids) == dict.fromkeys(ids, 1)


def test_launches_while_workers_are_killed_every_few_seconds_all_succeed_once(
    service: Service,
) -> None:
    api = service.api(MAX_ACTIVE_JOBS=JOBS + 100)
    # Jobs of about 0.1 s each: the run must outlast several kills (with launches taking a
    # few milliseconds, 500 jobs of 20,000 iterations were done within two kills).
    workers = [service.worker(concurrency=2, METRIC_ITERATIONS=100_000) for _ in range(2)]
    stop = threading.Event()
    kills: list[str] = []
    errors: list[BaseException] = []

    def killer() -> None:
        turn = 0
        while not stop.wait(KILL_EVERY):
            victim: Worker = workers[turn % len(workers)]
            turn += 1
            try:
                # In turn: a child killed (the OOM killer), and a whole worker host lost.
                if turn % 2 == 1 and victim.children():
                    victim.kill_child()
                    kills.append("child")
                else:
                    victim.kill_group()
                    kills.append("host")
                    victim.start(wait=False)
            except Exception as error:
                # A child that ended by itself meanwhile: the next turn kills another.
                errors.append(error)
                if not victim.running:
                    victim.start(wait=False)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    start = time.monotonic()
    try:
        responses = launch_all(api.url, JOBS, CONCURRENCY)
        ids = {response.json()["job_id"] for response in responses if response.status_code == 202}
        jobs = service.store.wait_final(ids, within=300)
    finally:
        stop.set()
        thread.join(60)
    took = time.monotonic() - start

    assert [r.status_code for r in responses] == [202] * JOBS
    assert len(ids) == JOBS
    assert {job.status for job in jobs.values()} == {"succeeded"}, [
        (job.id, job.status, job.error) for job in jobs.values() if job.status != "succeeded"
    ]
    # A kill between a job's commit and its log line takes the line: two at most a kill (a
    # host runs two children). The lines that are there say that no job ran to its end twice.
    logged = completions(*workers, of=ids, lost=2 * len(kills))
    assert set(logged.values()) == {1}
    assert set(logged) <= ids
    # Only real losses count: at most the runs a kill interrupted (two per worker).
    assert sum(job.attempts - 1 for job in jobs.values()) <= 2 * len(kills)
    assert len(kills) >= took / KILL_EVERY / 2, (kills, errors)
