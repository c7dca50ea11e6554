"""The access log of `experiments api`, as its process writes it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.polling import eventually_sync
from tests.support.service_processes import Api

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO MainProcess entrypoints\.http\.access: "
    r'127\.0\.0\.1:\d+ "GET /logs\?table_name=df_sales&user_id=access%2Dcheck HTTP/1\.1" '
    r"200 \d+\.\d ms$"
)


@contextmanager
def api_at(level: str, service_env: dict[str, str], tmp_path: Path) -> Iterator[Api]:
    """`experiments api` at this LOG_LEVEL, stopped when the block ends (its `lines` stay)."""
    api = Api({**service_env, "LOG_LEVEL": level}, tmp_path / "api.log")
    api.start()
    try:
        yield api
    finally:
        api.stop()


def test_each_request_is_one_line_in_the_service_format(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    with api_at("INFO", service_env, tmp_path) as api:
        answer = httpx.get(f"{api.url}/logs?table_name=df_sales&user_id=access%2Dcheck")
        assert answer.status_code == 200

        def logged() -> list[str]:
            return [line.rstrip("\n") for line in api.lines if "access%2Dcheck" in line]

        lines = eventually_sync(logged, within=10, what="the request's access line")
    # One line (uvicorn's own access log is off), with the status and the duration.
    assert len(lines) == 1, lines
    assert LINE.match(lines[0]), lines[0]


def test_requests_no_route_serves_and_refused_writes_are_logged_with_their_status(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    with api_at("INFO", service_env, tmp_path) as api:
        assert httpx.get(f"{api.url}/no-such-page").status_code == 404
        assert httpx.delete(f"{api.url}/tables").status_code == 405
        refused = httpx.post(
            f"{api.url}/launch", json={}, headers={"Origin": "https://elsewhere.example"}
        )
        assert refused.status_code == 403

        def logged() -> list[str] | None:
            lines = [line for line in api.lines if "entrypoints.http.access" in line]
            return lines if any('"POST /launch' in line for line in lines) else None

        lines = eventually_sync(logged, within=10, what="the refused launch's access line")
    for request, status in [
        ("GET /no-such-page", 404),
        ("DELETE /tables", 405),
        ("POST /launch", 403),
    ]:
        assert [line for line in lines if f'"{request} HTTP/1.1" {status} ' in line], request


def test_warning_level_writes_no_access_line(service_env: dict[str, str], tmp_path: Path) -> None:
    with api_at("WARNING", service_env, tmp_path) as api:
        assert httpx.get(f"{api.url}/tables").status_code == 200
    assert not [line for line in api.lines if "entrypoints.http.access" in line]
