"""What the jobs context runs and the analytics context provides: a metric, by name.

The two contexts may not import each other; they meet here. A `Metric` checks its parameters
(before anything is queued) and runs on a worker, telling its `Progress` how far it got and
stopping when that says so. The composition root gathers the metrics into a `MetricRegistry`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from domain.shared.errors import InvalidParameter

JsonObject = dict[str, Any]
"""A JSON object as `json.loads` gives it: str keys; str, int, float, bool, None, lists and
objects as values."""

MetricResult = int | JsonObject
"""What a run gives: an exact integer (`calculate_metric`) or a JSON object (`ab_test`)."""

ReportProgress = Callable[[float, str | None], Coroutine[Any, Any, bool]]
"""Records the fraction of the run done (0..1) and the phase it is in (None when a metric has
one); answers whether to go on."""

ShouldStop = Callable[[], bool]
"""Whether the run must stop now (cancelled, overtaken, out of time). Cheap and safe to call
from any thread, as often as a loop likes."""


class MetricStopped(Exception):
    """Raised by a run that stopped because its `Progress` said so."""


def _always() -> bool:
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """How a run reports how far it got, and learns that it must stop."""

    report: ReportProgress
    should_stop: ShouldStop
    due: Callable[[], bool] = _always
    """Whether a report now would be recorded (the job store takes a few a second at most).
    Cheap and safe from any thread: a metric reporting from a thread skips the hop to the
    event loop when it is not; `should_stop` still says when to stop."""

    async def checkpoint(self, fraction: float, phase: str | None) -> None:
        """Reports a point of the run; raises MetricStopped when it must not go on."""
        if not await self.report(fraction, phase) or self.should_stop():
            raise MetricStopped


async def _keep_going(fraction: float, phase: str | None) -> bool:
    return True


UNWATCHED = Progress(report=_keep_going, should_stop=lambda: False)
"""For a run nobody follows (a benchmark, a script): progress goes nowhere, it never stops."""


class Metric(Protocol):
    """A computation a job can run: its parameters' rules, and the run itself."""

    @property
    def name(self) -> str:
        """The name `POST /launch` takes (`calculate_metric`, `ab_test`)."""
        ...

    @property
    def description(self) -> str:
        """What it computes, for people choosing a metric."""
        ...

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The JSON Schema of its parameters (a JSON object)."""
        ...

    async def validate(self, params: Mapping[str, object]) -> JsonObject:
        """Returns the parameters with every default filled in; raises InvalidParameter naming
        the first wrong one (dotted, such as `assignments.table`)."""
        ...

    async def run(self, params: Mapping[str, object], progress: Progress) -> MetricResult:
        """Runs on parameters `validate` returned; raises MetricStopped when `progress` says
        stop."""
        ...


class MetricRegistry(Mapping[str, Metric]):
    """The metrics the service can run, by name, in the order they were given."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics: dict[str, Metric] = {}
        for metric in metrics:
            if metric.name in self._metrics:
                raise ValueError(f"two metrics are named {metric.name!r}")
            self._metrics[metric.name] = metric

    def __getitem__(self, name: str) -> Metric:
        return self._metrics[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)

    def require(self, name: str, parameter: str = "metric") -> Metric:
        """The metric named so; InvalidParameter naming `parameter` and listing the known
        metrics otherwise."""
        metric = self._metrics.get(name)
        if metric is None:
            known = ", ".join(self._metrics) or "none"
            raise InvalidParameter(parameter, f"there is no metric {name!r}; known: {known}.")
        return metric
