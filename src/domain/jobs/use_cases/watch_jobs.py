from __future__ import annotations

from collections.abc import AsyncIterator

from domain.jobs.model import FeedSignal, Job
from domain.jobs.ports import JobFeed

IDLE_AFTER = 15.0


class WatchJobs:
    """Streams job changes as they happen: status, progress, result.

    - Every watcher shares one subscription to the job store per API process; the store is
      not polled per watcher.
    - The stream starts with `sync` (re-read the job list now: nothing is missed from here on)
      and says `sync` again after any gap; it says it is idle every 15 s without changes.
    - A watcher that reads slowly gets each job's latest state, not every step in between.
    """

    def __init__(self, feed: JobFeed) -> None:
        self._feed = feed

    def __call__(self) -> AsyncIterator[Job | FeedSignal]:
        return self._feed.changes(idle_after=IDLE_AFTER)
