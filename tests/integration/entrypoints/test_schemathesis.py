"""Property-based tests of the whole API against its own OpenAPI document (schemathesis).

Positive and negative data for every operation, against a live server backed by the real
PostgreSQL and Redis: no 5xx, every response matches its documented status, headers, content
type and schema, and data the schema forbids is refused. (Schemathesis's check that all data
the schema allows is accepted is left out: the API also checks what a schema cannot say, such
as whether a table exists or 2023-02-30 is a date, and answers those with a documented 400.)

Operations are listed from the committed docs/openapi.json, which test_openapi.py keeps equal
to the served one, so that pytest can name them before a server runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from entrypoints.config.settings import Settings
from entrypoints.http.app import create_app
from tests.support.live_server import serving

EXAMPLES = 150
SPEC = json.loads((Path(__file__).parents[3] / "docs" / "openapi.json").read_text())
CASES = [
    (method.upper(), path, mode)
    for path, ops in SPEC["paths"].items()
    for method, op in ops.items()
    for mode in GenerationMode
    # Without parameters there is nothing to get wrong; an endless stream has no end to check.
    if (mode is GenerationMode.POSITIVE or op.get("parameters"))
    and "text/event-stream" not in json.dumps(op["responses"])
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def live_api(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings)) as base_url:
        yield base_url


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_the_api_keeps_to_its_openapi_document(
    live_api: str, method: str, path: str, mode: GenerationMode
) -> None:
    operation = schemathesis.openapi.from_url(f"{live_api}/schema/openapi.json")[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case[Any]) -> None:
        statuses.append(case.call_and_validate(checks=CHECKS).status_code)

    statuses: list[int] = []
    check()

    assert statuses
