"""The `experiments` command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from devtools.embedded import free_port
from devtools.processes import stop_process_group
from tests.support.polling import eventually_sync

EXPERIMENTS = Path(sys.executable).with_name("experiments")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MAX_ACTIVE_JOBS", "-3"), ("JOB_TIME_LIMIT", "soon"), ("LOG_LEVEL", "loud")],
)
@pytest.mark.parametrize("command", ["api", "worker", "load"])
def test_a_bad_setting_stops_a_command_at_start_naming_its_variable(
    command: str, variable: str, value: str
) -> None:
    done = subprocess.run(
        [str(EXPERIMENTS), command],
        env={**os.environ, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert f"{variable}={value!r}" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_api_process_logs_at_info_with_the_table_it_loads(
    service_env: dict[str, str],
) -> None:
    port = free_port()
    api = subprocess.Popen(
        [str(EXPERIMENTS), "api", "--port", str(port), "--workers", "2"],
        env={**os.environ, **service_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            def logs() -> bool:
                return client.get("/logs", params={"table_name": "df_sales"}).status_code == 200

            eventually_sync(logs, within=60, what="the API", ignoring=(httpx.TransportError,))
    finally:
        stop_process_group(api, grace=20)
    assert api.stderr is not None
    output = api.stderr.read()

    [loaded] = [line for line in output.splitlines() if "Loaded df_sales.csv" in line]
    assert " INFO " in loaded
    assert "[table=df_sales]" in loaded
    assert "SpawnProcess" in loaded


def test_load_loads_every_table_reports_each_failure_and_exits_non_zero(
    service_env: dict[str, str], seeded_data_dir: Path
) -> None:
    (seeded_data_dir / "a_broken.csv").write_text("date,v\n2024-01-01,1\n2024-01-02\n")
    (seeded_data_dir / "b_fine.csv").write_text("date,v\n2024-01-01,1\n")
    (seeded_data_dir / "c_broken.csv").write_text("x,y\n1,2,3\n")

    done = subprocess.run(
        [str(EXPERIMENTS), "load"],
        env={**os.environ, **service_env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "a_broken.csv, line 3, column 'v'" in output
    assert "c_broken.csv, line 2" in output
    assert "b_fine: 1 rows, version 1" in output
    assert "df_sales: 20,000 rows" in output
    assert "2 of the tables failed to load: a_broken, c_broken" in output
