from __future__ import annotations

from domain import analytics


def test_the_package_exports_its_public_api() -> None:
    assert set(analytics.__all__) <= set(dir(analytics))
    assert issubclass(analytics.StatisticsError, ValueError)
