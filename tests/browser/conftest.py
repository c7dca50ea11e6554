"""The browser tier needs Debian's Chromium. Without it these tests are skipped, saying why,
so that `uv run pytest` passes on a machine without one; CI sets REQUIRE_BROWSER=1 (`.ci/run`)
and there a missing browser fails them instead, so they cannot silently stop running."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
BROWSER_TESTS = Path(__file__).parent


def pytest_runtest_setup(item: pytest.Item) -> None:
    if not item.path.is_relative_to(BROWSER_TESTS) or Path(CHROMIUM).exists():
        return
    if os.environ.get("REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail(f"REQUIRE_BROWSER is set and there is no Chromium at {CHROMIUM}")
    pytest.skip(
        f"no Chromium at {CHROMIUM} (`apt-get install chromium`); "
        "REQUIRE_BROWSER=1 makes this a failure"
    )
