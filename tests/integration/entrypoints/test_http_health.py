"""Liveness, readiness and metrics against the real services (and some that are not there)."""

from __future__ import annotations

import re

import psycopg
from litestar.testing import AsyncTestClient

from entrypoints.http.app import create_app
from tests.support.service_app import settings_with

NOWHERE = "redis://127.0.0.1:1/0"


async def test_liveness_asks_no_backing_service(service_env: dict[str, str]) -> None:
    down = settings_with(
        service_env, DATABASE_URL="postgresql://postgres@127.0.0.1:1/none", DATABASE_TIMEOUT=1
    )
    async with AsyncTestClient(app=create_app(down)) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_postgres_the_broker_and_the_cache_answer(
    service_env: dict[str, str], redis_url: str
) -> None:
    settings = settings_with(service_env, CACHE_URL=redis_url)
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "database": "up",
        "broker": "up",
        "cache": "up",
    }


async def test_without_a_cache_it_is_ready_and_says_the_cache_is_absent(
    service_env: dict[str, str],
) -> None:
    async with AsyncTestClient(app=create_app(settings_with(service_env))) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["cache"] == "absent"


async def test_a_cache_down_is_degraded_but_ready(service_env: dict[str, str]) -> None:
    settings = settings_with(service_env, CACHE_URL=NOWHERE)
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": "up",
        "broker": "up",
        "cache": "down",
    }


async def test_the_broker_down_is_not_ready(service_env: dict[str, str]) -> None:
    settings = settings_with(service_env, REDIS_URL=NOWHERE)
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"]
    body = response.json()
    assert body["title"] == "Not ready"
    assert body["checks"] == {"database": "up", "broker": "down", "cache": "absent"}


async def test_postgres_down_is_not_ready(service_env: dict[str, str]) -> None:
    settings = settings_with(
        service_env, DATABASE_URL="postgresql://postgres@127.0.0.1:1/none", DATABASE_TIMEOUT=1
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down"
    assert "127.0.0.1" not in response.text


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus's text format."""
    inside = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    pattern = re.escape(f"{name}{{{inside}}}" if labels else name) + r" (\S+)"
    found = re.search(rf"^{pattern}$", text, re.MULTILINE)
    assert found, f"no {name} {labels} in:\n{text}"
    return float(found[1])


async def test_metrics_count_requests_jobs_the_queue_recoveries_and_the_cache(
    service_env: dict[str, str], redis_url: str, cache_prefix: str
) -> None:
    settings = settings_with(service_env, CACHE_URL=redis_url, CACHE_PREFIX=cache_prefix)
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/health/ready")).status_code == 200  # the schema is made
        # What the job store's trigger would have counted after two losses and one re-publish.
        async with await psycopg.AsyncConnection.connect(settings.database.url) as conn:
            await conn.execute(
                "UPDATE experiments.job_counters"
                " SET value = CASE name WHEN 'lost' THEN 2 ELSE 1 END"
            )
        before = (await client.get("/metrics")).text
        for _ in range(3):
            assert (await client.get("/logs", params={"table_name": "df_sales"})).status_code == 200
        assert (await client.get("/jobs/00000000-0000-0000-0000-000000000000")).status_code == 404
        for _ in range(2):
            assert (await client.post("/launch")).status_code == 202
        response = await client.get("/metrics")
    text = response.text
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")

    def requests(route: str, status: str, method: str = "GET", page: str = text) -> float:
        return sample(
            page, "experiments_http_requests_total", method=method, route=route, status=status
        )

    logs_before = 0.0 if "/logs" not in before else requests("/logs", "200", page=before)
    assert requests("/logs", "200") - logs_before == 3
    assert requests("/jobs/{job_id}", "404") >= 1
    assert requests("/launch", "202", method="POST") >= 2
    assert (
        sample(text, "experiments_http_request_duration_seconds_count", method="GET", route="/logs")
        >= 3
    )
    assert sample(text, "experiments_jobs", status="queued") == 2
    assert sample(text, "experiments_jobs", status="succeeded") == 0
    assert sample(text, "experiments_queue_depth") == 2
    assert sample(text, "experiments_jobs_lost_total") == 2
    assert sample(text, "experiments_jobs_republished_total") == 1
    assert sample(text, "experiments_cache_reads_total", outcome="miss") == 1
    assert sample(text, "experiments_cache_reads_total", outcome="hit") == 2
