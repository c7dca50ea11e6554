"""The suite's pure parts: interleaving, medians, ratios, the load, the table."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from benchmarks.measure import (
    Better,
    Load,
    LoadSampler,
    Row,
    cells,
    human,
    interleave,
    markdown_table,
    median,
    percentile,
    speed_ratio,
)


def test_interleave_runs_each_contender_once_per_round_in_turn() -> None:
    calls: list[str] = []
    counter = itertools.count()

    def contender(name: str) -> tuple[str, Callable[[], float]]:
        def run() -> float:
            calls.append(name)
            return float(next(counter))

        return name, run

    result = interleave([contender("A"), contender("B")], rounds=3)

    assert calls == ["A", "B", "A", "B", "A", "B"]
    assert result.order == calls
    assert result.values == {"A": [0.0, 2.0, 4.0], "B": [1.0, 3.0, 5.0]}
    assert result.median("A") == 2.0


def test_median_and_percentile() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)
    assert percentile([7.0], 0.95) == 7.0
    with pytest.raises(ValueError, match="no values"):
        median([])


def test_ratio_is_above_one_when_ours_does_better_whichever_way_is_better() -> None:
    assert speed_ratio(200.0, 100.0, Better.HIGHER) == 2.0
    assert speed_ratio(2.0, 4.0, Better.LOWER) == 2.0
    assert speed_ratio(8.0, 4.0, Better.LOWER) == 0.5
    assert speed_ratio(1.0, None, Better.LOWER) is None
    assert speed_ratio(0.0, 1.0, Better.HIGHER) is None


def test_load_sampler_keeps_the_load_before_during_and_after() -> None:
    readings = iter([1.0, 3.0, 2.0, 0.5, 0.5, 0.5])
    sampler = LoadSampler(every=0.01, read=lambda: next(readings, 0.5))
    with sampler.sampling() as samples:
        while len(samples) < 3:
            pass
    assert samples[0] == 1.0
    assert max(samples) == 3.0
    assert samples[-1] == 0.5


def test_a_row_reads_as_figure_baseline_ratio_and_load() -> None:
    row = Row(
        benchmark="ingest",
        what="df_sales",
        unit="s",
        better=Better.LOWER,
        ours=24.7,
        baseline=4.4,
        baseline_name="psql \\copy",
        load=Load(before=0.5, after=1.25, peak=2.0),
        note="a|b",
    )
    assert cells(row) == (
        "ingest",
        "df_sales",
        "24.7 s",
        "4.40 s (psql \\copy)",
        "0.18×",
        "0.5→1.2 (max 2.0)",
        "a|b",
    )
    table = markdown_table([row]).splitlines()
    assert table[0] == "| benchmark | what | ours | baseline | ratio | load (1 min) | notes |"
    assert table[2].endswith("| a\\|b |")
    assert table[2].count(" | ") == 6


def test_figures_are_shown_in_their_units() -> None:
    assert human(0.0123, "s") == "12.3 ms"
    assert human(0.0000425, "s") == "42.5 µs"
    assert human(73 * 2**20, "B") == "73.0 MiB"
    assert human(675.4, "req/s") == "675 req/s"
    assert human(1234.5, "req/s") == "1,234 req/s"
