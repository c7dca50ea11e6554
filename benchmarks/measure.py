"""The pure parts of the suite: interleaving, medians and ratios, the machine's load, the table.

Every figure is measured in rounds, each round running the benchmark and then its baseline
(A B A B A B), so that a change of load on a shared machine hits both alike; the figure and
the baseline are the medians of their rounds.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from rich.table import Table


class Better(StrEnum):
    """Which way a figure is good: a rate the higher, a time or a size the lower."""

    HIGHER = "higher"
    LOWER = "lower"


@dataclass(frozen=True, slots=True, kw_only=True)
class Load:
    """The machine's 1-minute load average before and after, and the highest seen between."""

    before: float
    after: float
    peak: float

    def __str__(self) -> str:
        return f"{self.before:.1f}→{self.after:.1f} (max {self.peak:.1f})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One line of the table: a figure, its baseline, and how the two compare."""

    benchmark: str
    what: str
    unit: str
    better: Better
    ours: float
    baseline: float | None
    baseline_name: str
    load: Load | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How ours does against the baseline, >1 when ours is better: ours/baseline for a
        rate, baseline/ours for a time or a size. None without a baseline."""
        return speed_ratio(self.ours, self.baseline, self.better)


def speed_ratio(ours: float, baseline: float | None, better: Better) -> float | None:
    """ours/baseline when higher is better, baseline/ours when lower is; None when either is
    missing or zero."""
    if baseline is None or baseline == 0 or ours == 0:
        return None
    return ours / baseline if better is Better.HIGHER else baseline / ours


def median(values: Sequence[float]) -> float:
    """The median; raises ValueError on no values."""
    if not values:
        raise ValueError("no values")
    return float(statistics.median(values))


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile by linear interpolation between the closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(slots=True)
class Rounds:
    """What interleaving gave: each contender's values, in the order they ran."""

    values: dict[str, list[float]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def median(self, name: str) -> float:
        return median(self.values[name])


def interleave(contenders: Sequence[tuple[str, Callable[[], float]]], rounds: int) -> Rounds:
    """Runs each contender once per round, in the given order (A B A B ...), and keeps what
    each returned."""
    result = Rounds(values={name: [] for name, _ in contenders})
    for _ in range(rounds):
        for name, run in contenders:
            result.values[name].append(run())
            result.order.append(name)
    return result


class LoadSampler:
    """Samples the 1-minute load average every `every` seconds while a block runs."""

    def __init__(
        self, *, every: float = 1.0, read: Callable[[], float] = lambda: os.getloadavg()[0]
    ) -> None:
        self._every = every
        self._read = read
        self._samples: list[float] = []
        self._stop = threading.Event()

    @contextmanager
    def sampling(self) -> Iterator[list[float]]:
        self._samples = [self._read()]
        self._stop.clear()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self._samples
        finally:
            self._stop.set()
            thread.join()
            self._samples.append(self._read())

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._samples.append(self._read())


def load_of(samples: Sequence[float]) -> Load:
    return Load(before=samples[0], after=samples[-1], peak=max(samples))


@contextmanager
def measured_load() -> Iterator[Callable[[], Load]]:
    """Samples the load while the block runs; the yielded function says what it was."""
    sampler = LoadSampler()
    with sampler.sampling() as samples:
        yield lambda: load_of(samples)


class Stopwatch:
    """Seconds since it was made, by the monotonic clock."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started


def human(value: float, unit: str) -> str:
    """A figure with a few significant digits and its unit."""
    if unit == "B":
        for size, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if abs(value) >= size:
                return f"{value / size:.1f} {suffix}"
        return f"{value:.0f} B"
    if unit == "s" and abs(value) < 0.001:
        return f"{value * 1e6:.1f} µs"
    if unit == "s" and abs(value) < 1:
        return f"{value * 1000:.1f} ms"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    if abs(value) >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def ratio_text(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}×"


HEADERS = ("benchmark", "what", "ours", "baseline", "ratio", "load (1 min)", "notes")


def cells(row: Row) -> tuple[str, str, str, str, str, str, str]:
    """The row's cells as text, in the order of HEADERS."""
    baseline = (
        "—"
        if row.baseline is None
        else f"{human(row.baseline, row.unit)} ({row.baseline_name})"
        if row.baseline_name
        else human(row.baseline, row.unit)
    )
    return (
        row.benchmark,
        row.what,
        human(row.ours, row.unit),
        baseline,
        ratio_text(row.ratio),
        "" if row.load is None else str(row.load),
        row.note,
    )


def rich_table(rows: Sequence[Row], title: str) -> Table:
    table = Table(title=title)
    for header in HEADERS:
        table.add_column(header, justify="right" if header in {"ours", "ratio"} else "left")
    for row in rows:
        table.add_row(*cells(row))
    return table


def markdown_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table, for docs/benchmarks.md."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in cells(row)) + " |" for row in rows
    ]
    return "\n".join(lines)
