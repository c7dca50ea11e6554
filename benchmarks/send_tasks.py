"""The baseline of `POST /launch`: a loop of Celery `send_task` calls, as fast as it goes.

    python -m benchmarks.send_tasks BROKER_URL QUEUE SECONDS

sends the service's task (by name, with a fresh job id) to QUEUE through a Celery app
configured as the service's (`adapters.celery.app.create_celery`), for SECONDS seconds, and
prints the number sent and the seconds taken as JSON. Nothing consumes them.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

from adapters.celery.app import RUN_METRIC_TASK, QueueConfig, create_celery


def main(arguments: list[str]) -> None:
    broker_url, queue, seconds = arguments[0], arguments[1], float(arguments[2])
    app = create_celery(QueueConfig(broker_url=broker_url, queue=queue, kill_after=600.0))
    app.send_task(
        RUN_METRIC_TASK, args=[str(uuid.uuid4())], queue=queue, retry=False
    )  # connect first
    sent = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        app.send_task(RUN_METRIC_TASK, args=[str(uuid.uuid4())], queue=queue, retry=False)
        sent += 1
    print(json.dumps({"sent": sent, "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main(sys.argv[1:])
