from __future__ import annotations

import asyncio
import csv
import datetime as dt
import os
import random
from collections import Counter
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.config.settings import Settings
from entrypoints.http.app import create_app
from tests.support.service_app import settings_with

SALES_TYPES = {"sale_id": int, "count_pizza": int, "count_drink": int, "user_id": str}


def expected_logs(
    path: Path, *, from_date: str | None = None, user_id: str | None = None
) -> list[dict[str, str]]:
    """The 100 latest records computed independently of the service, with the csv module."""
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    ordered = sorted(enumerate(rows), key=lambda item: (item[1]["date"], item[0]), reverse=True)
    kept = [
        row
        for _, row in ordered
        if (from_date is None or row["date"] >= from_date)
        and (user_id is None or row["user_id"] == user_id)
    ]
    return kept[:100]


def as_csv_text(row: dict[str, object]) -> dict[str, str]:
    """A JSON row written back the way the CSV file spells it."""
    out = {}
    for key, value in row.items():
        if key == "date":
            out[key] = str(value).replace("T", " ")
        elif isinstance(value, float):
            out[key] = f"{value:.2f}" if not value.is_integer() else str(int(value))
        else:
            out[key] = str(value)
    return out


async def test_returns_the_100_latest_sales(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    response = await client.get("/logs", params={"table_name": "df_sales"})

    assert response.status_code == 200
    body = response.json()
    assert body["table"] == "df_sales"
    assert body["count"] == 100
    assert body["has_more"] is True
    assert [c["name"] for c in body["columns"]] == [
        "sale_id",
        "date",
        "count_pizza",
        "count_drink",
        "price",
        "user_id",
    ]
    assert {c["name"]: c["type"] for c in body["columns"]}["user_id"] == "text"
    expected = expected_logs(seeded_data_dir / "df_sales.csv")
    assert [row["sale_id"] for row in body["rows"]] == [int(r["sale_id"]) for r in expected]
    assert isinstance(body["rows"][0]["price"], int | float)


async def test_matches_an_independent_computation_for_random_filters(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    rng = random.Random(7)
    for table, key in (("df_sales", "sale_id"), ("df_sales_detail", "sale_id")):
        path = seeded_data_dir / f"{table}.csv"
        with path.open(newline="") as file:
            rows = list(csv.DictReader(file))
        users = sorted({row["user_id"] for row in rows})
        dates = sorted({row["date"][:10] for row in rows})
        for _ in range(15):
            from_date = rng.choice([None, rng.choice(dates), rng.choice(dates) + " 12:00:00"])
            user_id = rng.choice([None, rng.choice(users), rng.choice(users[:5]), "ffffff0"])
            params = {"table_name": table}
            if from_date:
                params["from_date"] = from_date
            if user_id:
                params["user_id"] = user_id

            response = await client.get("/logs", params=params)

            assert response.status_code == 200, response.text
            expected = expected_logs(path, from_date=from_date, user_id=user_id)
            got = response.json()["rows"]
            assert [(r[key], r["date"]) for r in got] == [
                (int(r[key]), r["date"].replace(" ", "T")) for r in expected
            ], params
            if table == "df_sales":
                assert [as_csv_text(r) for r in got] == expected


async def test_follows_the_cursor_through_every_record_of_a_user(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    path = seeded_data_dir / "df_sales_detail.csv"
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    busiest, count = Counter(r["user_id"] for r in rows).most_common(1)[0]
    params = {"table_name": "df_sales_detail", "user_id": busiest}
    seen = 0
    while True:
        body = (await client.get("/logs", params=params)).json()
        seen += body["count"]
        if not body["has_more"]:
            break
        params["cursor"] = body["next_cursor"]

    assert seen == count
    assert seen > 100


async def test_serves_a_csv_dropped_into_the_data_folder(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    (seeded_data_dir / "visits.csv").write_text(
        ",user_id,visited at,page\n"
        "0,000001,2024-05-01 10:00:00,/\n"
        "1,000002,2024-05-02 11:00:00,/a\n"
    )

    response = await client.get("/logs", params={"table_name": "visits", "user_id": "000001"})

    assert response.status_code == 200
    body = response.json()
    assert body["date_column"] == "visited at"
    assert body["rows"] == [
        {"column_1": 0, "user_id": "000001", "visited at": "2024-05-01T10:00:00", "page": "/"}
    ]


async def test_reloads_a_csv_that_changed(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    path = seeded_data_dir / "t.csv"
    path.write_text("date,v\n2024-01-01,1\n")
    first = (await client.get("/logs", params={"table_name": "t"})).json()
    path.write_text("date,v\n2024-01-01,1\n2024-01-02,2\n")

    second = (await client.get("/logs", params={"table_name": "t"})).json()

    assert [r["v"] for r in first["rows"]] == [1]
    assert [r["v"] for r in second["rows"]] == [2, 1]


async def test_unknown_table_is_a_404_listing_the_known_ones(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/logs", params={"table_name": "df_users"})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["known_tables"] == ["df_sales", "df_sales_detail", "experiment_users"]
    assert body["status"] == 404
    assert "df_users" in body["detail"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "table_name"),
        ({"table_name": "df_sales", "from_date": "last week"}, "from_date"),
        ({"table_name": "df_sales", "from_date": "2023-02-30"}, "from_date"),
        ({"table_name": "df_sales", "cursor": "nope"}, "cursor"),
        ({"table_name": "df_sales", "user_id": "a\x00b"}, "user_id"),
        ({"table_name": "../../etc/passwd"}, "table_name"),
        ({"table_name": ".hidden"}, "table_name"),
        ({"table_name": "a\x00b"}, "table_name"),
    ],
)
async def test_bad_parameters_are_a_400_naming_the_parameter(
    client: AsyncTestClient[Litestar], params: dict[str, str], parameter: str
) -> None:
    response = await client.get("/logs", params=params)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["parameter"] == parameter


@pytest.mark.parametrize(
    ("from_date", "count"), [("0001-01-01T00:00+05:00", 100), ("9999-12-31T23:00-05:00", 0)]
)
async def test_a_from_date_beyond_the_range_of_dates_in_utc_keeps_every_record_or_none(
    client: AsyncTestClient[Litestar], from_date: str, count: int
) -> None:
    response = await client.get("/logs", params={"table_name": "df_sales", "from_date": from_date})

    assert response.status_code == 200
    assert response.json()["count"] == count


async def test_a_name_longer_than_an_identifier_is_a_table_like_any_other(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    long_name = "отчёт о продажах за " + "очень " * 14 + "долгий период"
    (seeded_data_dir / f"{long_name}.csv").write_text("date,v\n2024-01-01,1\n")

    found = await client.get("/logs", params={"table_name": long_name})
    missing = await client.get("/logs", params={"table_name": "x" * 64})

    assert len(long_name.encode()) > 200
    assert found.status_code == 200, found.text
    assert (found.json()["table"], found.json()["rows"]) == (
        long_name,
        [{"date": "2024-01-01", "v": 1}],
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "table_name",
    [
        "df_sales; DROP TABLE experiments.tables; --",
        'df_sales" --',
        "pg_catalog.pg_authid",
        "experiments.tables",
        "tables",
        "pg_class",
        "/etc/passwd",
        "..",
        "%2e%2e%2fetc",
        "df_sales.csv",
        "DF_SALES",
    ],
)
async def test_injection_and_traversal_strings_are_refused(
    client: AsyncTestClient[Litestar], table_name: str
) -> None:
    response = await client.get("/logs", params={"table_name": table_name})

    assert response.status_code in {400, 404}, response.text
    assert (await client.get("/logs", params={"table_name": "df_sales"})).json()["count"] == 100


async def test_a_symlink_leading_out_of_the_data_folder_is_not_a_table(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    (seeded_data_dir / "secret.csv").symlink_to(outside)

    response = await client.get("/logs", params={"table_name": "secret"})

    assert response.status_code == 404


async def test_a_malformed_csv_is_a_422_naming_file_line_and_column(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    (seeded_data_dir / "broken.csv").write_text("date,v\n2024-01-01,1\n2024-01-02\n")

    response = await client.get("/logs", params={"table_name": "broken"})

    assert response.status_code == 422
    body = response.json()
    assert (body["file"], body["line"], body["column"]) == ("broken.csv", 3, "v")


async def test_a_failed_reload_keeps_serving_the_previous_version_and_says_so(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    path = seeded_data_dir / "t.csv"
    path.write_text("date,v\n2024-01-01,1\n")
    first = await client.get("/logs", params={"table_name": "t"})
    path.write_text("date,v\n2024-01-01,1\n2024-01-02\n")
    os.utime(path, ns=(10**18, 10**18))

    stale = await client.get("/logs", params={"table_name": "t"})
    path.write_text("date,v\n2024-01-01,1\n2024-01-02,2\n")
    os.utime(path, ns=(2 * 10**18, 2 * 10**18))
    fixed = await client.get("/logs", params={"table_name": "t"})

    assert (first.headers["x-table-version"], first.json()["reload_failure"]) == ("1", None)
    assert "x-table-stale" not in first.headers
    assert stale.status_code == 200
    assert stale.headers["x-table-stale"] == "reload-failed"
    assert stale.headers["x-table-version"] == "1"
    body = stale.json()
    assert [row["v"] for row in body["rows"]] == [1]
    assert body["version"] == 1
    failure = body["reload_failure"]
    assert (failure["file"], failure["line"], failure["column"]) == ("t.csv", 3, "v")
    assert "t.csv, line 3" in failure["detail"]
    assert fixed.json()["version"] == 2
    assert fixed.json()["reload_failure"] is None
    assert "x-table-stale" not in fixed.headers


async def test_a_filter_without_its_column_is_a_400(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    (seeded_data_dir / "plain.csv").write_text("a,b\n1,2\n")

    response = await client.get("/logs", params={"table_name": "plain", "user_id": "1"})

    assert response.status_code == 400
    assert response.json()["parameter"] == "user_id"


async def test_tables_lists_every_table_with_its_state(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    await client.get("/logs", params={"table_name": "df_sales"})

    response = await client.get("/tables")

    assert response.status_code == 200
    tables = {t["name"]: t for t in response.json()["tables"]}
    assert tables["df_sales"]["state"] == "loaded"
    assert tables["df_sales"]["row_count"] == 20_000
    assert dt.datetime.fromisoformat(tables["df_sales"]["min_date"]) < dt.datetime.fromisoformat(
        tables["df_sales"]["max_date"]
    )
    assert tables["df_sales_detail"]["state"] == "not_loaded"
    assert tables["df_sales_detail"]["columns"] is None


async def test_fifty_concurrent_first_requests_succeed_on_a_small_pool(
    service_env: dict[str, str],
) -> None:
    small_pool = settings_with(service_env, DATABASE_POOL_SIZE=3)
    async with AsyncTestClient(app=create_app(small_pool)) as client:
        responses = await asyncio.gather(
            *(client.get("/logs", params={"table_name": "df_sales_detail"}) for _ in range(50))
        )
        tables = {t["name"]: t for t in (await client.get("/tables")).json()["tables"]}

    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    assert tables["df_sales_detail"]["version"] == 1


async def test_health_is_ok_when_postgres_answers(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_is_503_when_postgres_does_not_answer(seeded_data_dir: Path) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
            "DATA_DIR": str(seeded_data_dir),
            "DATABASE_TIMEOUT": "1",
        }
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        health = await client.get("/health/ready")
        logs = await client.get("/logs", params={"table_name": "df_sales"})

    assert health.status_code == 503
    assert logs.status_code == 503
    assert logs.headers["content-type"].startswith("application/problem+json")


async def test_unknown_routes_are_problem_json(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/nope")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/logs?table_name=df_sales", {"GET"}), ("GET", "/launch", {"POST"})],
)
async def test_a_method_a_path_does_not_have_is_a_405_naming_those_it_has(
    client: AsyncTestClient[Litestar], method: str, path: str, allowed: set[str]
) -> None:
    response = await client.request(method, path)

    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {m.strip() for m in response.headers["allow"].split(",")} >= allowed


async def test_openapi_describes_every_parameter_and_problem(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/schema/openapi.json")

    assert response.status_code == 200
    logs = response.json()["paths"]["/logs"]["get"]
    assert {p["name"] for p in logs["parameters"]} == {
        "table_name",
        "from_date",
        "user_id",
        "cursor",
    }
    assert all(p.get("description") for p in logs["parameters"])
    assert {"200", "400", "404", "422", "503"} <= set(logs["responses"])
    assert "application/problem+json" in logs["responses"]["404"]["content"]
    for page in ("/schema", "/schema/swagger"):
        assert (await client.get(page)).status_code == 200


async def test_numeric_values_are_exact_json_numbers(
    client: AsyncTestClient[Litestar], seeded_data_dir: Path
) -> None:
    (seeded_data_dir / "scores.csv").write_text(
        "date,score,big\n2024-01-01,12.50,123456789012345678.25\n"
    )

    response = await client.get("/logs", params={"table_name": "scores"})

    assert '"score":12.50' in response.text
    assert '"big":123456789012345678.25' in response.text
    assert response.json()["rows"][0]["score"] == 12.5
