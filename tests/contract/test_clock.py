"""The fake clock and the system's tell time the same way: aware, in UTC, never backwards."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.system_clock import SystemClock
from domain.shared.clock import Clock
from tests.support.fakes import FakeClock


@pytest.fixture(params=["fake", "system"])
def clock(request: pytest.FixtureRequest) -> Clock:
    return FakeClock() if request.param == "fake" else SystemClock()


def test_the_time_is_aware_and_in_utc(clock: Clock) -> None:
    now = clock.now()

    assert now.utcoffset() == dt.timedelta(0)


def test_the_time_never_goes_backwards(clock: Clock) -> None:
    readings = [clock.now() for _ in range(100)]

    assert readings == sorted(readings)
