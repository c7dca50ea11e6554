"""Fixtures every tier shares (from `tests/support/`), and each test marked with its tier.

The tiers are the folders: `unit` (no I/O), `contract` (the same assertions over a fake and
its real adapter), `integration` (adapters and HTTP against real services and processes),
`browser` (the web page in Chromium), `faults` (servers of their own, stopped, killed and
filled), `benchmarks` (the benchmark suite's pure parts). Select one with `-m`, e.g.
`uv run pytest -m unit`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.support.services", "tests.support.service_app"]

TESTS = Path(__file__).parent
TIERS = ("unit", "contract", "integration", "browser", "faults", "benchmarks")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.relative_to(TESTS).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
