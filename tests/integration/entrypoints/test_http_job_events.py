from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from entrypoints.config.settings import Settings
from entrypoints.http.app import create_app
from tests.support.live_server import serving
from tests.support.service_app import settings_with


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # A real server: the test client would wait for the endless stream to end.
    with serving(create_app(settings)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            yield client


async def events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, Any]]:
    """(event, data) pairs from an SSE stream's lines."""
    event, data = None, []
    async for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line.split(":", 1)[1].strip())
        elif not line and event:
            yield event, json.loads("\n".join(data))
            event, data = None, []


async def test_the_event_stream_tells_every_change_of_a_job(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/jobs/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = events(response.aiter_lines())
        assert await anext(stream) == ("sync", {})

        job_id = (await client.post("/launch")).json()["job_id"]
        queued = await asyncio.wait_for(anext(stream), 10)
        await client.post(f"/jobs/{job_id}/cancel")
        cancelled = await asyncio.wait_for(anext(stream), 10)

    assert queued[0] == "job"
    assert (queued[1]["job_id"], queued[1]["status"]) == (job_id, "queued")
    assert (cancelled[1]["job_id"], cancelled[1]["status"]) == (job_id, "cancelled")
    assert cancelled[1] == (await client.get(f"/jobs/{job_id}")).json()


async def test_many_watchers_share_one_listening_connection(
    client: httpx.AsyncClient, clean_database: str
) -> None:
    import psycopg

    async def watch() -> tuple[str, Any]:
        async with client.stream("GET", "/jobs/events") as response:
            stream = events(response.aiter_lines())
            await anext(stream)
            ready.release()
            return await asyncio.wait_for(anext(stream), 10)

    ready = asyncio.Semaphore(0)
    watchers = [asyncio.create_task(watch()) for _ in range(5)]
    for _ in watchers:
        await asyncio.wait_for(ready.acquire(), 10)
    with psycopg.connect(clean_database) as conn:
        listeners = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
        ).fetchone()
    job_id = (await client.post("/launch")).json()["job_id"]

    seen = await asyncio.gather(*watchers)

    assert listeners == (1,)
    assert {data["job_id"] for _, data in seen} == {job_id}


async def test_the_event_stream_is_503_when_postgres_does_not_answer(
    service_env: dict[str, str],
) -> None:
    down = settings_with(
        service_env, DATABASE_URL="postgresql://postgres@127.0.0.1:1/none", DATABASE_TIMEOUT=1
    )
    async with AsyncTestClient(app=create_app(down)) as client:
        response = await client.get("/jobs/events")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
