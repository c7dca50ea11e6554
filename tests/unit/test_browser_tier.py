"""The browser tier without a browser: skipped saying why, or failed where CI requires it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.browser import conftest as browser_tier


def item_in_the_browser_tier() -> Any:
    return SimpleNamespace(path=browser_tier.BROWSER_TESTS / "test_web_page.py")


def test_without_chromium_the_browser_tests_are_skipped_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(browser_tier, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium at /nonexistent/chromium"):
        browser_tier.pytest_runtest_setup(item_in_the_browser_tier())


def test_without_chromium_where_a_browser_is_required_they_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(browser_tier, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_BROWSER"):
        browser_tier.pytest_runtest_setup(item_in_the_browser_tier())


def test_with_chromium_or_outside_the_tier_nothing_is_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    present = tmp_path / "chromium"
    present.write_text("")
    monkeypatch.setattr(browser_tier, "CHROMIUM", str(present))
    browser_tier.pytest_runtest_setup(item_in_the_browser_tier())
    monkeypatch.setattr(browser_tier, "CHROMIUM", "/nonexistent/chromium")
    browser_tier.pytest_runtest_setup(SimpleNamespace(path=tmp_path / "test_other.py"))  # type: ignore[arg-type]


def test_ci_requires_the_browser() -> None:
    ci = (browser_tier.BROWSER_TESTS.parents[1] / ".ci" / "run").read_text()
    assert "export REQUIRE_BROWSER=1" in ci
