from __future__ import annotations

from domain.shared.metrics import Metric, MetricRegistry


class ListMetrics:
    """Lists the metrics `POST /launch` can run: each one's name, what it computes, and the
    JSON Schema of its parameters (with their defaults)."""

    def __init__(self, metrics: MetricRegistry) -> None:
        self._metrics = metrics

    async def __call__(self) -> list[Metric]:
        return list(self._metrics.values())
