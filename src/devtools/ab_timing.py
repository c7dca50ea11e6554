"""Times an `ab_test` the way the service runs it, for the benchmark suite and by hand.

`time_ab_test` builds the service's own container (the same adapters as the API and the
worker), checks the parameters as `POST /launch` does (which loads the tables on first use),
then runs the metric as a worker does, and says how long each part took. Only the run is
worker time: the aggregation in PostgreSQL and the statistics.

    uv run python -m devtools.ab_timing DATA_DIR '{"table": "df_sales", "value": "price"}'

reads DATABASE_URL like the service (it creates its schemas there).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec

from domain.shared.metrics import UNWATCHED, JsonObject, MetricRegistry
from entrypoints.config.settings import Settings
from entrypoints.di.providers import make_container

AB_TEST = "ab_test"


@dataclass(frozen=True, slots=True, kw_only=True)
class AbTestTiming:
    result: JsonObject
    validate_seconds: float
    """Checking the parameters, as the API does at launch; a first use loads the tables."""
    run_seconds: float
    """The run, as a worker does it: the aggregation and the statistics."""


async def time_ab_test(settings: Settings, params: Mapping[str, object]) -> AbTestTiming:
    container = make_container(settings)
    try:
        async with container() as request:
            metric = (await request.get(MetricRegistry)).require(AB_TEST)
            started = time.perf_counter()
            checked = await metric.validate(params)
            validated = time.perf_counter()
            result = await metric.run(checked, UNWATCHED)
            ran = time.perf_counter()
    finally:
        await container.close()
    assert isinstance(result, dict)
    return AbTestTiming(
        result=result, validate_seconds=validated - started, run_seconds=ran - validated
    )


def main(arguments: list[str]) -> None:
    data_dir, params = Path(arguments[0]), json.loads(arguments[1])
    settings = msgspec.structs.replace(
        Settings.from_env(),
        data=msgspec.structs.replace(Settings.from_env().data, dir=data_dir),
    )
    timing = asyncio.run(time_ab_test(settings, params))
    print(
        json.dumps(
            {
                "validate_seconds": round(timing.validate_seconds, 3),
                "run_seconds": round(timing.run_seconds, 3),
                "p_value": timing.result["p_value"],
                "users": timing.result["control"]["users"] + timing.result["treatment"]["users"],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
