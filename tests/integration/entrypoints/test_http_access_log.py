"""The access log of `experiments api`, as its process writes it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.polling import eventually_sync
from tests.support.service_processes import Api

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO MainProcess entrypoints\.http\.access: "
    r'127\.0\.0\.1:\d+ "GET /logs\?table_name=df_sales&user_id=access%2Dcheck HTTP/1\.1" '
    r"200 \d+\.\d ms$"
)


def test_each_request_is_one_line_in_the_service_format(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    api = Api({**service_env, "LOG_LEVEL": "INFO"}, tmp_path / "api.log")
    api.start()
    try:
        answer = httpx.get(f"{api.url}/logs?table_name=df_sales&user_id=access%2Dcheck")
        assert answer.status_code == 200

        def logged() -> list[str]:
            return [line.rstrip("\n") for line in api.lines if "access%2Dcheck" in line]

        lines = eventually_sync(logged, within=10, what="the request's access line")
    finally:
        api.stop()
    # One line (uvicorn's own access log is off), with the status and the duration.
    assert len(lines) == 1, lines
    assert LINE.match(lines[0]), lines[0]


def test_warning_level_writes_no_access_line(service_env: dict[str, str], tmp_path: Path) -> None:
    api = Api({**service_env, "LOG_LEVEL": "WARNING"}, tmp_path / "api.log")
    api.start()
    try:
        assert httpx.get(f"{api.url}/tables").status_code == 200
    finally:
        api.stop()
    assert not [line for line in api.lines if "entrypoints.http.access" in line]
