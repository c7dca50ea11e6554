"""A read whose client went away stops its query in PostgreSQL."""

from __future__ import annotations

import logging
import socket

import httpx
import psycopg
import pytest

from entrypoints.http.app import create_app
from tests.support.live_server import serving
from tests.support.polling import eventually_sync
from tests.support.service_app import settings_with

WAITING = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND application_name = 'experiments' AND state = 'active' AND wait_event_type = 'Lock'"
)


def test_a_read_whose_client_left_cancels_its_query(
    service_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="entrypoints.http.access")
    # A lock wait far longer than the test: only the disconnect can end it.
    settings = settings_with(service_env, DATABASE_LOCK_TIMEOUT=120)
    url = service_env["DATABASE_URL"]
    with serving(create_app(settings)) as base_url:
        assert httpx.get(f"{base_url}/logs?table_name=df_sales", timeout=60).status_code == 200
        with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as watcher:
            holder.execute("LOCK TABLE csv.df_sales IN ACCESS EXCLUSIVE MODE")
            host, port = base_url.removeprefix("http://").split(":")
            client = socket.create_connection((host, int(port)))
            client.sendall(
                b"GET /logs?table_name=df_sales&user_id=8d0315 HTTP/1.1\r\nHost: x\r\n\r\n"
            )

            def waiting() -> int:
                row = watcher.execute(WAITING).fetchone()
                return row[0] if row else 0

            eventually_sync(waiting, within=10, what="the read to wait for the lock")
            client.close()
            eventually_sync(
                lambda: waiting() == 0, within=10, what="the abandoned read to be cancelled"
            )
            holder.rollback()
        # The connection went back to the pool, and the service still answers.
        assert httpx.get(f"{base_url}/logs?table_name=df_sales", timeout=10).status_code == 200
    # Logged as answered to nobody (nginx's 499), not as an error of the service.
    abandoned = [r.getMessage() for r in caplog.records if "user_id=8d0315" in r.getMessage()]
    assert len(abandoned) == 1, abandoned
    assert '"GET /logs?table_name=df_sales&user_id=8d0315 HTTP/1.1" 499 ' in abandoned[0]
