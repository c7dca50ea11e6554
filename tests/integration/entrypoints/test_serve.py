"""`experiments serve` on its embedded default, as a newcomer runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

from devtools.embedded import free_port
from tests.support.polling import eventually_sync

T = TypeVar("T")

REPO = Path(__file__).parents[3]
EXPERIMENTS = Path(sys.executable).with_name("experiments")


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        found |= children
        frontier = children
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(check: Callable[[], T | None], within: float, what: str) -> T:
    return eventually_sync(check, within=within, what=what, ignoring=(httpx.TransportError,))


def start_serve(state: Path, port: int) -> subprocess.Popen[str]:
    """`experiments serve` as a newcomer runs it: no URL set, so embedded servers."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "REDIS_URL", "CACHE_URL", "TEST_POSTGRES_URL", "TEST_REDIS_URL"}
    }
    env |= {"DATA_DIR": str(REPO / "data"), "METRIC_ITERATIONS": "300000"}
    command = ["serve", "--port", str(port), "--state-dir", str(state), "--concurrency", "1"]
    return subprocess.Popen(
        [str(EXPERIMENTS), *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_with_ctrl_c(serve: subprocess.Popen[str], processes: set[int]) -> str:
    """Interrupts `serve` as Ctrl-C does; checks that it and `processes` are gone."""
    serve.send_signal(signal.SIGINT)
    serve.wait(90)
    wait_until(lambda: not any(alive(pid) for pid in processes), 15, "no process left")
    assert serve.returncode == 0
    return serve.stdout.read() if serve.stdout else ""


def test_serve_runs_everything_and_leaves_nothing_behind(state_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = start_serve(state_dir, port)
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            wait_until(lambda: client.get("/health").status_code == 200, 90, "the API")
            job_id = client.post("/launch").json()["job_id"]

            def succeeded() -> dict[str, str] | None:
                job = client.get("/get_result", params={"job_id": job_id}).json()
                return job if job["status"] == "succeeded" else None

            job = wait_until(succeeded, 60, "the job")
            logs = client.get("/logs", params={"table_name": "df_sales"})
            # Served again from the embedded cache's Redis, and revalidated.
            client.get("/logs", params={"table_name": "df_sales"})
            not_modified = client.get(
                "/logs",
                params={"table_name": "df_sales"},
                headers={"If-None-Match": logs.headers["etag"]},
            )
            cache = client.get("/health").json()["cache"]
        postmaster = int((state_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        children = descendants(serve.pid) | {postmaster}

        assert int(job["result"]) > 0
        assert logs.status_code == 200
        assert logs.json()["count"] == 100
        assert not_modified.status_code == 304
        assert (cache["circuit"], cache["errors"]) == ("closed", 0)
        assert cache["hits"] >= 2
        assert alive(postmaster)
        assert len(children) >= 3

        output = stop_with_ctrl_c(serve, children)

        assert f"{base}/schema" in output
        serve = start_serve(state_dir, port)
        with httpx.Client(base_url=base, timeout=10) as client:
            wait_until(lambda: client.get("/health").status_code == 200, 90, "the API again")
            again = client.get(f"/jobs/{job_id}").json()
        postmaster = int((state_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        stop_with_ctrl_c(serve, descendants(serve.pid) | {postmaster})

        assert again == job
    finally:
        if serve.poll() is None:
            serve.kill()


def test_serve_refuses_another_postgres_data_folder_before_starting_anything(
    state_dir: Path,
) -> None:
    """pgserver's PostgreSQL 16 left in `.experiments/postgres`: moved away by hand, never
    upgraded (ADR 0020)."""
    old = state_dir / "postgres"
    old.mkdir(parents=True)
    (old / "PG_VERSION").write_text("16\n")

    serve = start_serve(state_dir, free_port())
    output, _ = serve.communicate(timeout=60)

    assert serve.returncode == 1
    assert "PostgreSQL 16" in output
    assert f"mv {old} {old}-16" in output
    assert sorted(path.name for path in state_dir.iterdir()) == ["postgres"]
    assert sorted(path.name for path in old.iterdir()) == ["PG_VERSION"]
