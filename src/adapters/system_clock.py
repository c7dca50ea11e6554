from __future__ import annotations

import datetime as dt

from domain.shared.clock import Clock


class SystemClock(Clock):
    """The machine's clock. Every process of the service stamps jobs with it, so their hosts
    must keep time (NTP); a skew of seconds would only reorder jobs created in those seconds."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)
