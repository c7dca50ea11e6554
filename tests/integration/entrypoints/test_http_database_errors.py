"""PostgreSQL's failures as the API answers them: each by what it means."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
from litestar.testing import AsyncTestClient

from entrypoints.http.app import create_app
from tests.support.service_app import settings_with


async def test_a_table_wider_than_postgres_allows_is_a_422_every_time(
    service_env: dict[str, str], seeded_data_dir: Path
) -> None:
    columns = 1700
    (seeded_data_dir / "wide.csv").write_text(
        ",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" * columns) + "\n"
    )
    async with AsyncTestClient(app=create_app(settings_with(service_env))) as client:
        answers = [await client.get("/logs", params={"table_name": "wide"}) for _ in range(2)]
        tables = (await client.get("/tables")).json()["tables"]
    for answer in answers:
        assert answer.status_code == 422
        body = answer.json()
        assert body["file"] == "wide.csv"
        assert "1600 columns" in body["detail"]
    assert answers[0].json() == answers[1].json()
    wide = next(table for table in tables if table["name"] == "wide")
    assert wide["state"] == "failed"


async def test_a_locked_table_is_a_busy_503_and_leaves_every_other_endpoint_answering(
    service_env: dict[str, str],
) -> None:
    settings = settings_with(service_env, DATABASE_LOCK_TIMEOUT=0.3, DATABASE_POOL_SIZE=3)
    url = service_env["DATABASE_URL"]
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/logs", params={"table_name": "df_sales"})).status_code == 200
        with psycopg.connect(url) as holder:
            holder.execute("LOCK TABLE csv.df_sales IN ACCESS EXCLUSIVE MODE")
            reads = await asyncio.gather(
                *(
                    client.get("/logs", params={"table_name": "df_sales", "user_id": str(n)})
                    for n in range(10)
                )
            )
            others = [await client.get(path) for path in ("/jobs", "/tables", "/health")]
            holder.rollback()
        after = await client.get("/logs", params={"table_name": "df_sales"})
    for read in reads:
        assert read.status_code == 503
        assert read.json()["title"] == "Database busy"
        assert "lock" in read.json()["detail"]
        assert read.headers["retry-after"]
    assert [other.status_code for other in others] == [200, 200, 200]
    assert after.status_code == 200


async def test_a_statement_past_its_timeout_is_a_busy_503(service_env: dict[str, str]) -> None:
    settings = settings_with(service_env, DATABASE_STATEMENT_TIMEOUT=0.3)
    url = service_env["DATABASE_URL"]
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/logs", params={"table_name": "df_sales"})).status_code == 200
        with psycopg.connect(url, autocommit=True) as conn:
            # Every read of the table now takes a second: past the statement timeout.
            conn.execute("ALTER TABLE csv.df_sales RENAME TO df_sales_rows")
            conn.execute(
                "CREATE VIEW csv.df_sales AS SELECT * FROM csv.df_sales_rows"
                " WHERE (SELECT true FROM pg_sleep(1))"
            )
        answer = await client.get("/logs", params={"table_name": "df_sales", "user_id": "x"})
    assert answer.status_code == 503
    assert answer.json()["title"] == "Database busy"
    assert "time limit" in answer.json()["detail"]
