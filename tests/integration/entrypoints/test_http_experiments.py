"""A/B tests over HTTP: the metric registry, launching with a JSON body, the 400 of each kind
of parameter mistake (nothing queued), and a real worker finding the planted effect in the
shipped data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import jsonschema
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.config.settings import Settings
from entrypoints.http.app import create_app
from tests.support.polling import eventually
from tests.support.worker_process import running_worker

Q4 = {"from_date": "2023-10-01", "to_date": "2023-12-31"}
LIFT = 0.3


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


@pytest.fixture
def worker(service_env: dict[str, str]) -> Iterator[None]:
    with running_worker(service_env, concurrency=1):
        yield


async def launch(client: AsyncTestClient[Litestar], body: object) -> dict[str, Any]:
    response = await client.post("/launch", json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/jobs/{response.json()['job_id']}"
    job: dict[str, Any] = (await client.get(response.headers["location"])).json()
    return job


async def finished(client: AsyncTestClient[Litestar], job_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.get(f"/jobs/{job_id}")).json()
        return job if job["status"] in {"succeeded", "failed", "cancelled"} else None

    return await eventually(done, within=90, what=f"job {job_id} to finish")


async def no_jobs(client: AsyncTestClient[Litestar]) -> bool:
    jobs: list[object] = (await client.get("/jobs")).json()["jobs"]
    return jobs == []


async def test_the_registry_lists_each_metric_with_a_description_and_a_json_schema(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/launch/metrics")

    assert response.status_code == 200
    metrics = {metric["name"]: metric for metric in response.json()["metrics"]}
    assert list(metrics) == ["calculate_metric", "ab_test"]
    for metric in metrics.values():
        assert metric["description"]
        jsonschema.Draft202012Validator.check_schema(metric["parameters"])
    ab_test = metrics["ab_test"]["parameters"]
    assert ab_test["required"] == ["table"]
    assert ab_test["properties"]["assignments"]["properties"]["table"]["default"] == (
        "experiment_users"
    )


async def test_a_json_body_launches_that_metric_with_its_parameters_checked_and_filled_in(
    client: AsyncTestClient[Litestar],
) -> None:
    job = await launch(
        client, {"metric": "ab_test", "params": {"table": "df_sales", "value": "price", **Q4}}
    )

    assert (job["metric"], job["status"], job["result"]) == ("ab_test", "queued", None)
    assert job["params"]["assignments"]["group_column"] == "pilot"
    assert (job["params"]["from_date"], job["params"]["alpha"]) == ("2023-10-01", 0.05)


async def test_no_body_still_launches_the_briefs_metric(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/launch")
    job = (await client.get(response.headers["location"])).json()

    assert response.status_code == 202
    assert (job["metric"], job["params"]) == ("calculate_metric", {})


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"metric=ab_test&params=%7B%7D"),
        ("text/plain", b'{"metric": "ab_test"}'),
        ("multipart/form-data; boundary=x", b"--x--"),
    ],
)
async def test_a_body_that_is_not_json_is_a_415_and_launches_nothing(
    client: AsyncTestClient[Litestar], content_type: str, body: bytes
) -> None:
    response = await client.post("/launch", content=body, headers={"content-type": content_type})

    assert response.status_code == 415
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "application/json" in response.json()["detail"]
    assert await no_jobs(client)


@pytest.mark.parametrize(
    "body", [b'{"metric": "ab_test",', b"{'metric': 'ab_test'}", b'{"metric": 5}', b"[1]"]
)
async def test_malformed_or_mistyped_json_is_a_400_and_launches_nothing(
    client: AsyncTestClient[Litestar], body: bytes
) -> None:
    response = await client.post(
        "/launch", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await no_jobs(client)


MISTAKES = [
    ({"metric": "churn", "params": {}}, "metric"),
    ({"metric": "ab_test", "params": {"table": "df_orders"}}, "table"),
    ({"metric": "ab_test", "params": {"table": "df_sales", "value": "revenue"}}, "value"),
    ({"metric": "ab_test", "params": {"table": "df_sales", "value": "user_id"}}, "value"),
    (
        {"metric": "ab_test", "params": {"table": "df_sales", "assignments": {"treatment": 2}}},
        "assignments.treatment",
    ),
    ({"metric": "ab_test", "params": {"table": "df_sales", **Q4, "to_date": "2023-01-01"}},
     "from_date"),
    ({"metric": "ab_test", "params": {"table": "df_sales", "aggregate": "median"}}, "aggregate"),
    ({"metric": "calculate_metric", "params": {"iterations": 5}}, "iterations"),
]  # fmt: skip
"""One of each kind: unknown metric, unknown table, unknown column, a column that is not
numeric, a group value nobody has, a window that ends before it starts, a value outside the
schema, a parameter a metric does not take."""


@pytest.mark.parametrize(("body", "named"), MISTAKES, ids=[named for _, named in MISTAKES])
async def test_each_parameter_mistake_is_a_400_naming_it_before_anything_is_queued(
    client: AsyncTestClient[Litestar], body: dict[str, Any], named: str
) -> None:
    response = await client.post("/launch", json=body, headers={"Idempotency-Key": "try-1"})

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["parameter"] == named
    assert named.rsplit(".", maxsplit=1)[-1] in problem["detail"]
    assert await no_jobs(client)


async def test_a_queued_ab_test_can_be_cancelled_and_never_runs(
    client: AsyncTestClient[Litestar],
) -> None:
    job = await launch(client, {"metric": "ab_test", "params": {"table": "df_sales"}})

    cancelled = (await client.post(f"/jobs/{job['job_id']}/cancel")).json()

    assert (cancelled["status"], cancelled["result"]) == ("cancelled", None)


@pytest.mark.usefixtures("worker")
async def test_a_worker_finds_the_planted_effect_in_the_shipped_data(
    client: AsyncTestClient[Litestar],
) -> None:
    revenue = await launch(
        client,
        {
            "metric": "ab_test",
            "params": {"table": "df_sales", "value": "price", "cuped": True, **Q4},
        },
    )
    check = await launch(
        client,
        {"metric": "ab_test", "params": {"table": "df_sales", "aggregate": "ratio",
                                          "numerator": "price", **Q4}},
    )  # fmt: skip

    done = await finished(client, revenue["job_id"])
    average_check = await finished(client, check["job_id"])

    assert done["status"] == "succeeded", done
    assert (done["progress"], done["phase"]) == (1.0, "testing")
    result = done["result"]
    assert (result["test"], result["srm"]) == ("welch_t", False)
    assert (result["control"]["assigned"], result["treatment"]["assigned"]) == (2815, 2895)
    for figures in (result, result["cuped"]):
        base = figures["control"]["mean"]
        assert figures["p_value"] < 0.01
        assert figures["ci_low"] / base < LIFT < figures["ci_high"] / base
    assert result["cuped"]["variance_reduction"] > 0.2
    assert (await client.get("/get_result", params={"job_id": done["job_id"]})).json() == done
    # Pilots order more often; what an order holds is unchanged.
    assert average_check["status"] == "succeeded", average_check
    ratio = average_check["result"]
    assert ratio["test"] == "delta_method"
    assert ratio["ci_low"] < 0 < ratio["ci_high"]
