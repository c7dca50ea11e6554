"""The benchmark's entry point runs `ab_test` as the service does: its answer on the shipped
data is the one the plain-Python aggregation of the same files gives."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from devtools.ab_timing import time_ab_test
from domain.analytics.ab_test import AbTestMetric
from domain.shared.metrics import UNWATCHED
from entrypoints.config.settings import Settings
from tests.support.experiments import Q4_2023, tables_of
from tests.support.fakes import InMemoryExperimentData

PARAMS = {"table": "df_sales", "value": "price", "cuped": True, **Q4_2023}


def same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            same(actual[key], expected[key]) for key in expected
        )
    if isinstance(expected, float) and not isinstance(actual, bool):
        return math.isclose(actual, expected, rel_tol=1e-12)
    return bool(actual == expected)


async def test_time_ab_test_answers_as_the_plain_python_aggregation_does(
    settings: Settings, seeded_data_dir: Path
) -> None:
    metric = AbTestMetric(InMemoryExperimentData(tables_of(seeded_data_dir)))
    expected = await metric.run(await metric.validate(PARAMS), UNWATCHED)

    timing = await time_ab_test(settings, PARAMS)

    assert same(timing.result, expected), (timing.result, expected)
