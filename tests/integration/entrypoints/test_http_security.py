"""Who may change things, and the headers every response carries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.http.app import create_app
from tests.support.service_app import settings_with

HOST = "testserver.local"


@pytest.fixture
async def guarded(service_env: dict[str, str]) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = settings_with(service_env, API_TOKENS="first-token, second-token")
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("path", ["/", "/logs?table_name=df_sales", "/nowhere", "/static/app.js"])
async def test_every_response_carries_the_security_headers(
    client: AsyncTestClient[Litestar], path: str
) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/", "/static/app.js"])
async def test_the_page_may_run_its_own_scripts_only(
    client: AsyncTestClient[Litestar], path: str
) -> None:
    response = await client.get(path)
    policy = response.headers["content-security-policy"]
    assert response.status_code == 200
    assert "script-src 'self';" in policy
    assert "default-src 'self'" in policy
    assert "http" not in policy


@pytest.mark.parametrize(
    "path", ["/logs?table_name=df_sales", "/tables", "/jobs", "/health", "/nowhere"]
)
async def test_an_answer_of_the_api_may_load_nothing(
    client: AsyncTestClient[Litestar], path: str
) -> None:
    response = await client.get(path)
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
async def test_the_docs_may_run_their_own_inline_start_but_nothing_from_elsewhere(
    client: AsyncTestClient[Litestar], path: str
) -> None:
    response = await client.get(path)
    policy = response.headers["content-security-policy"]
    assert response.status_code == 200
    assert "script-src 'self' 'unsafe-inline'" in policy
    assert "http" not in policy
    assert "frame-ancestors 'none'" in policy


async def test_a_bare_post_without_origin_or_body_launches(
    client: AsyncTestClient[Litestar],
) -> None:
    assert (await client.post("/launch")).status_code == 202


async def test_a_same_origin_json_launch_is_accepted(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/launch", json={"metric": "calculate_metric"}, headers={"Origin": f"http://{HOST}"}
    )
    assert response.status_code == 202


@pytest.mark.parametrize("origin", ["https://evil.example", "null", f"http://{HOST}.evil.example"])
async def test_a_post_from_another_origin_is_refused(
    client: AsyncTestClient[Litestar], origin: str
) -> None:
    response = await client.post("/launch", headers={"Origin": origin})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/jobs")).json()["jobs"] == []


async def test_a_cross_site_fetch_is_refused_by_its_fetch_metadata(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.post("/launch", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"metric=calculate_metric"),
        ("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--\r\n"),
        ("text/plain", b'{"metric": "calculate_metric"}'),
    ],
)
async def test_the_bodies_a_cross_site_form_can_send_are_a_415(
    client: AsyncTestClient[Litestar], content_type: str, body: bytes
) -> None:
    launched = await client.post("/launch", content=body, headers={"Content-Type": content_type})
    job_id = "3b241101-e2bb-4255-8caf-4136c566a962"
    cancelled = await client.post(
        f"/jobs/{job_id}/cancel", content=body, headers={"Content-Type": content_type}
    )
    assert (launched.status_code, cancelled.status_code) == (415, 415)
    assert (await client.get("/jobs")).json()["jobs"] == []


async def test_with_tokens_a_change_without_one_is_a_401(
    guarded: AsyncTestClient[Litestar],
) -> None:
    response = await guarded.post("/launch")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "first-token" not in response.text


@pytest.mark.parametrize(
    "authorization", ["Bearer wrong", "Bearer first-toke", "Basic Zmlyc3QtdG9rZW4=", "Bearer "]
)
async def test_with_tokens_a_wrong_one_is_a_401(
    guarded: AsyncTestClient[Litestar], authorization: str
) -> None:
    response = await guarded.post("/launch", headers={"Authorization": authorization})
    assert response.status_code == 401


async def test_with_tokens_any_of_them_launches_and_cancels(
    guarded: AsyncTestClient[Litestar],
) -> None:
    launched = await guarded.post("/launch", headers={"Authorization": "Bearer second-token"})
    job_id = launched.json()["job_id"]
    refused = await guarded.post(f"/jobs/{job_id}/cancel")
    cancelled = await guarded.post(
        f"/jobs/{job_id}/cancel", headers={"Authorization": "Bearer first-token"}
    )
    assert launched.status_code == 202
    assert refused.status_code == 401
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


async def test_with_tokens_reading_needs_none(guarded: AsyncTestClient[Litestar]) -> None:
    for path in ("/jobs", "/tables", "/logs?table_name=df_sales", "/health"):
        assert (await guarded.get(path)).status_code == 200


async def test_a_cross_site_post_is_refused_even_with_a_valid_token(
    guarded: AsyncTestClient[Litestar],
) -> None:
    response = await guarded.post(
        "/launch",
        headers={"Authorization": "Bearer first-token", "Origin": "https://evil.example"},
    )
    assert response.status_code == 403
