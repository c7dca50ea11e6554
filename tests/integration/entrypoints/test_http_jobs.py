from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.config.settings import Settings
from entrypoints.http.app import create_app
from tests.support.brief import metric_upper_bound
from tests.support.polling import eventually
from tests.support.service_app import settings_with
from tests.support.worker_process import running_worker


@pytest.fixture
def service_env(service_env: dict[str, str]) -> dict[str, str]:
    """Short runs unless a test asks for more."""
    return {**service_env, "METRIC_ITERATIONS": "200000"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


@pytest.fixture
def worker(service_env: dict[str, str]) -> Iterator[Callable[..., Any]]:
    """Starts a real worker process on demand, with variables changed as a test asks."""
    stack: list[Any] = []

    def start(concurrency: int = 2, **variables: Any) -> Any:
        env = {**service_env, **{name: str(value) for name, value in variables.items()}}
        context = running_worker(env, concurrency=concurrency)
        stack.append(context)
        return context.__enter__()

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


async def launch(client: AsyncTestClient[Litestar], **headers: str) -> str:
    response = await client.post("/launch", headers=headers)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


async def wait_for(
    client: AsyncTestClient[Litestar],
    job_id: str,
    until: Callable[[dict[str, Any]], bool],
    within: float = 60,
) -> dict[str, Any]:
    async def job_when_ready() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.get("/get_result", params={"job_id": job_id})).json()
        return job if until(job) else None

    return await eventually(job_when_ready, within=within, what=f"job {job_id}")


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in {"succeeded", "failed", "cancelled"}


async def test_a_launched_job_runs_on_a_worker_to_an_exact_result(
    client: AsyncTestClient[Litestar], worker: Callable[..., Any]
) -> None:
    worker(METRIC_ITERATIONS=10**7)
    response = await client.post("/launch")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert response.headers["location"] == f"/jobs/{body['job_id']}"
    seen = await wait_for(client, body["job_id"], lambda job: job["status"] != "queued")
    assert seen["status"] in {"running", "succeeded"}
    job = await wait_for(client, body["job_id"], finished)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1
    assert job["progress"] == 1.0
    result = int(job["result"])
    assert isinstance(job["result"], str)
    assert 2**53 < result <= metric_upper_bound(10**7)
    assert (await client.get(f"/jobs/{body['job_id']}")).json() == job


async def test_progress_is_reported_while_a_job_runs(
    client: AsyncTestClient[Litestar], worker: Callable[..., Any]
) -> None:
    worker(METRIC_ITERATIONS=4 * 10**6)
    job_id = await launch(client)

    running = await wait_for(client, job_id, lambda j: finished(j) or 0 < j["progress"] < 1)

    assert running["status"] == "running", running
    assert running["worker"]
    assert (await wait_for(client, job_id, finished))["status"] == "succeeded"


async def test_a_job_over_its_time_limit_fails(
    client: AsyncTestClient[Litestar], worker: Callable[..., Any]
) -> None:
    worker(METRIC_ITERATIONS=10**8, JOB_TIME_LIMIT=0.5)
    job_id = await launch(client)

    job = await wait_for(client, job_id, finished)

    assert job["status"] == "failed"
    assert "time limit" in job["error"]
    assert job["result"] is None


async def test_a_running_job_stops_when_cancelled(
    client: AsyncTestClient[Litestar], worker: Callable[..., Any]
) -> None:
    worker(METRIC_ITERATIONS=10**8)
    job_id = await launch(client)
    await wait_for(client, job_id, lambda j: j["status"] == "running")

    response = await client.post(f"/jobs/{job_id}/cancel")

    assert response.status_code == 200
    assert response.json()["cancel_requested"] is True
    job = await wait_for(client, job_id, finished, within=30)
    assert job["status"] == "cancelled"
    assert job["progress"] < 0.5


async def test_a_queued_job_cancelled_never_runs(
    client: AsyncTestClient[Litestar], worker: Callable[..., Any]
) -> None:
    job_id = await launch(client)

    cancelled = await client.post(f"/jobs/{job_id}/cancel")
    worker()
    other = await launch(client)
    await wait_for(client, other, finished)

    assert cancelled.json()["status"] == "cancelled"
    job = (await client.get(f"/jobs/{job_id}")).json()
    assert (job["status"], job["attempts"], job["started_at"]) == ("cancelled", 0, None)
    again = await client.post(f"/jobs/{job_id}/cancel")
    assert again.status_code == 200


async def test_a_finished_job_cannot_be_cancelled(
    client: AsyncTestClient[Litestar], worker: Callable[..., Any]
) -> None:
    worker()
    job_id = await launch(client)
    await wait_for(client, job_id, finished)

    response = await client.post(f"/jobs/{job_id}/cancel")

    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_killed_worker_child_loses_nothing(
    client: AsyncTestClient[Litestar], worker: Callable[..., Any]
) -> None:
    worker(METRIC_ITERATIONS=15 * 10**6, concurrency=1)
    job_id = await launch(client)
    running = await wait_for(client, job_id, lambda j: finished(j) or j["progress"] > 0)
    assert running["status"] == "running", running
    pid = int(running["worker"].rsplit(":", 1)[1])

    os.kill(pid, signal.SIGKILL)

    job = await wait_for(client, job_id, finished, within=120)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert job["worker"] != running["worker"]
    assert 0 <= int(job["result"]) <= metric_upper_bound(15 * 10**6)


async def test_the_same_idempotency_key_returns_the_same_job_as_a_replay(
    client: AsyncTestClient[Litestar],
) -> None:
    first = await launch(client, **{"Idempotency-Key": "report-2024-06"})
    replay = await client.post("/launch", headers={"Idempotency-Key": "report-2024-06"})
    third = await launch(client)

    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Location"] == f"/jobs/{first}"
    assert first == replay.json()["job_id"] != third
    jobs = (await client.get("/jobs")).json()["jobs"]
    assert len(jobs) == 2


async def test_a_first_launch_says_nothing_of_replays(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/launch", headers={"Idempotency-Key": "fresh"})

    assert response.status_code == 202
    assert "Idempotent-Replayed" not in response.headers


async def test_an_idempotency_key_reused_for_another_launch_is_a_422(
    client: AsyncTestClient[Litestar],
) -> None:
    await launch(client, **{"Idempotency-Key": "k-1"})

    response = await client.post(
        "/launch",
        json={"metric": "ab_test", "params": {"table": "df_sales"}},
        headers={"Idempotency-Key": "k-1"},
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "k-1" in response.json()["detail"]
    assert len((await client.get("/jobs")).json()["jobs"]) == 1


async def test_launching_past_the_cap_is_a_429_creating_nothing(
    service_env: dict[str, str],
) -> None:
    capped = settings_with(service_env, MAX_ACTIVE_JOBS=2)
    async with AsyncTestClient(app=create_app(capped)) as client:
        await launch(client)
        await launch(client)

        refused = await client.post("/launch")
        jobs = (await client.get("/jobs")).json()["jobs"]

    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) > 0
    assert len(jobs) == 2


async def test_an_unreachable_broker_is_a_503_and_leaves_no_job_queued(
    service_env: dict[str, str],
) -> None:
    broken = settings_with(service_env, REDIS_URL="redis://127.0.0.1:1/0")
    async with AsyncTestClient(app=create_app(broken)) as client:
        started = time.monotonic()
        response = await client.post("/launch")
        elapsed = time.monotonic() - started
        jobs = (await client.get("/jobs")).json()["jobs"]

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert elapsed < 5
    assert [job["status"] for job in jobs] == ["failed"]
    assert "queued" in jobs[0]["error"]


async def test_unknown_job_is_404_and_malformed_id_is_400(
    client: AsyncTestClient[Litestar],
) -> None:
    unknown = await client.get("/get_result", params={"job_id": str(uuid.uuid4())})
    malformed = await client.get("/get_result", params={"job_id": "42; DROP TABLE jobs"})
    missing = await client.get("/get_result")
    cancel_unknown = await client.post(f"/jobs/{uuid.uuid4()}/cancel")

    assert unknown.status_code == 404
    assert cancel_unknown.status_code == 404
    assert malformed.status_code == 400
    assert malformed.json()["parameter"] == "job_id"
    assert missing.status_code == 400
    assert missing.json()["parameter"] == "job_id"


async def test_jobs_are_listed_newest_first_page_by_page(client: AsyncTestClient[Litestar]) -> None:
    launched = [await launch(client) for _ in range(5)]

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        body = (await client.get("/jobs", params=params)).json()
        seen.extend(job["job_id"] for job in body["jobs"])
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]

    assert seen == launched[::-1]
    assert (await client.get("/jobs", params={"limit": 0})).status_code == 400


async def test_a_finished_job_runs_again_as_a_new_linked_job(
    client: AsyncTestClient[Litestar], worker: Callable[..., Any]
) -> None:
    worker()
    original = await launch(client)
    await wait_for(client, original, finished)

    response = await client.post(f"/jobs/{original}/rerun")

    assert response.status_code == 202, response.text
    rerun = response.json()["job_id"]
    assert rerun != original
    assert response.headers["Location"] == f"/jobs/{rerun}"
    job = await wait_for(client, rerun, finished)
    assert (job["status"], job["rerun_of"], job["metric"]) == (
        "succeeded",
        original,
        "calculate_metric",
    )
    assert (await client.get(f"/jobs/{original}")).json()["rerun_of"] is None


async def test_an_active_job_cannot_run_again(client: AsyncTestClient[Litestar]) -> None:
    queued = await launch(client)

    response = await client.post(f"/jobs/{queued}/rerun")
    missing = await client.post(f"/jobs/{uuid.uuid4()}/rerun")

    assert response.status_code == 409
    assert "still queued" in response.json()["detail"]
    assert missing.status_code == 404
    assert len((await client.get("/jobs")).json()["jobs"]) == 1


async def test_jobs_are_filtered_by_status_and_metric_page_by_page(
    client: AsyncTestClient[Litestar],
) -> None:
    ids = [await launch(client) for _ in range(5)]
    for job_id in ids[:3]:
        assert (await client.post(f"/jobs/{job_id}/cancel")).status_code == 200

    cancelled = (await client.get("/jobs", params={"status": "cancelled", "limit": 2})).json()
    rest = (
        await client.get(
            "/jobs",
            params={"status": "cancelled", "limit": 2, "cursor": cancelled["next_cursor"]},
        )
    ).json()
    several = (
        await client.get("/jobs", params=[("status", "cancelled"), ("status", "queued")])
    ).json()
    by_metric = (await client.get("/jobs", params={"metric": "ab_test"})).json()
    wrong = await client.get("/jobs", params={"status": "lost"})

    assert [j["job_id"] for j in cancelled["jobs"] + rest["jobs"]] == ids[:3][::-1]
    assert rest["next_cursor"] is None
    assert len(several["jobs"]) == 5
    assert by_metric["jobs"] == []
    assert wrong.status_code == 400
    assert "status" in wrong.text
