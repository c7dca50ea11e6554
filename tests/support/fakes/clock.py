from __future__ import annotations

import datetime as dt

from domain.shared.clock import Clock

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class FakeClock(Clock):
    """Starts at EPOCH and moves on by `tick` at every reading, so that events one after the
    other are ordered in time; a zero `tick` stops it. `advance` jumps ahead."""

    def __init__(self, *, tick: dt.timedelta = dt.timedelta(milliseconds=1)) -> None:
        self.current = EPOCH
        self.tick = tick

    def now(self) -> dt.datetime:
        self.current += self.tick
        return self.current

    def advance(self, delta: dt.timedelta) -> None:
        self.current += delta
