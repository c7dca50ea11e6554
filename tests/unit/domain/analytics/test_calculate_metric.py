from __future__ import annotations

import random

import pytest

from domain.analytics.calculate_metric import PROGRESS_STEPS, CalculateMetric, calculate_metric
from domain.shared.errors import InvalidParameter
from domain.shared.metrics import MetricStopped, Progress
from tests.support.brief import brief_metric, metric_upper_bound


@pytest.mark.parametrize("iterations", [0, 1, 7, 49, 50, 51, 1000, 1003, 10_007])
@pytest.mark.parametrize("steps", [PROGRESS_STEPS, 3])
def test_gives_the_briefs_result_and_consumes_the_same_draws_for_the_same_seed(
    iterations: int, steps: int
) -> None:
    random.seed(iterations)
    result = calculate_metric(iterations, steps=steps)
    after = random.random()
    random.seed(iterations)
    expected = brief_metric(iterations)

    assert result == expected
    assert after == random.random()


@pytest.mark.parametrize("iterations", [1, 7, 49, 50, 51, 1000, 1003, 10_007])
def test_reports_increasing_fractions_that_end_at_one(iterations: int) -> None:
    reports: list[float] = []

    calculate_metric(iterations, on_progress=reports.append)

    assert reports == sorted(set(reports))
    assert reports[0] > 0
    assert reports[-1] == 1.0


@pytest.mark.parametrize("iterations", [50, 1000, 10_000])
def test_reports_progress_once_per_step_when_the_steps_divide_the_iterations(
    iterations: int,
) -> None:
    reports: list[float] = []

    calculate_metric(iterations, on_progress=reports.append)

    assert reports == pytest.approx([k / PROGRESS_STEPS for k in range(1, PROGRESS_STEPS + 1)])


def test_reports_progress_once_per_step_when_the_steps_do_not_divide_the_iterations() -> None:
    counts: dict[int, int] = {}
    for iterations in (60, 101, 1003, 10_007):
        reports: list[float] = []
        calculate_metric(iterations, on_progress=reports.append)
        counts[iterations] = len(reports)

    assert counts == dict.fromkeys(counts, PROGRESS_STEPS), (
        f"expected {PROGRESS_STEPS} progress reports for each iteration count, got {counts}"
    )


@pytest.mark.parametrize("iterations", [1, 7, 49])
def test_reports_once_per_iteration_when_there_are_fewer_iterations_than_steps(
    iterations: int,
) -> None:
    reports: list[float] = []

    calculate_metric(iterations, on_progress=reports.append)

    assert reports == pytest.approx([i / iterations for i in range(1, iterations + 1)])


def test_stops_with_metric_stopped_when_should_stop_answers_true() -> None:
    reports: list[float] = []
    checks = 0

    def should_stop() -> bool:
        nonlocal checks
        checks += 1
        return len(reports) >= 3

    with pytest.raises(MetricStopped):
        calculate_metric(1000, on_progress=reports.append, should_stop=should_stop)

    assert reports == pytest.approx([0.02, 0.04, 0.06])
    assert checks == 4


def test_stops_before_any_work_when_should_stop_answers_true_at_once() -> None:
    reports: list[float] = []

    with pytest.raises(MetricStopped):
        calculate_metric(1000, on_progress=reports.append, should_stop=lambda: True)

    assert reports == []


def test_runs_to_the_end_when_should_stop_always_answers_false() -> None:
    random.seed(3)
    result = calculate_metric(1000, should_stop=lambda: False)
    random.seed(3)

    assert result == brief_metric(1000)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("iterations", [0, 1, 2, 99, 1000])
def test_result_lies_between_zero_and_the_upper_bound(seed: int, iterations: int) -> None:
    random.seed(seed)

    assert 0 <= calculate_metric(iterations) <= metric_upper_bound(iterations)


@pytest.mark.parametrize("draw", [0, 1])
def test_result_reaches_each_end_of_the_bounds_when_every_draw_is_the_same(
    monkeypatch: pytest.MonkeyPatch, draw: int
) -> None:
    monkeypatch.setattr(random, "randint", lambda a, b: draw)

    assert calculate_metric(1003) == (metric_upper_bound(1003) if draw else 0)


@pytest.mark.parametrize("iterations", range(40))
def test_upper_bound_is_the_sum_of_squares_below_the_iteration_count(iterations: int) -> None:
    assert metric_upper_bound(iterations) == sum(i * i for i in range(iterations))


async def test_as_a_metric_it_takes_no_parameters_naming_any_it_is_given() -> None:
    metric = CalculateMetric(iterations=100)

    assert await metric.validate({}) == {}
    with pytest.raises(InvalidParameter) as raised:
        await metric.validate({"iterations": 10**9})
    assert raised.value.parameter == "iterations"


async def test_as_a_metric_it_runs_in_a_thread_reporting_each_step_and_stops_when_told() -> None:
    reports: list[tuple[float, str | None]] = []

    async def report(fraction: float, phase: str | None) -> bool:
        reports.append((fraction, phase))
        return True

    random.seed(5)
    result = await CalculateMetric(iterations=1000).run(
        {}, Progress(report=report, should_stop=lambda: False)
    )
    random.seed(5)

    assert result == brief_metric(1000)
    assert reports == [(k / PROGRESS_STEPS, None) for k in range(1, PROGRESS_STEPS + 1)]
    with pytest.raises(MetricStopped):
        await CalculateMetric(iterations=1000).run(
            {}, Progress(report=report, should_stop=lambda: True)
        )


async def test_as_a_metric_it_reports_only_the_steps_its_progress_would_take() -> None:
    reports: list[float] = []
    taken = iter([False, True] * PROGRESS_STEPS)

    async def report(fraction: float, phase: str | None) -> bool:
        reports.append(fraction)
        return True

    random.seed(5)
    result = await CalculateMetric(iterations=1000).run(
        {}, Progress(report=report, should_stop=lambda: False, due=lambda: next(taken))
    )
    random.seed(5)

    assert result == brief_metric(1000)
    assert reports == [k / PROGRESS_STEPS for k in range(2, PROGRESS_STEPS + 1, 2)]
