"""The Celery application: Redis as broker only, tuned so that no job is lost."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery

RUN_METRIC_TASK = "experiments.run_metric"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueConfig:
    broker_url: str
    queue: str
    kill_after: float
    """Seconds after which Celery kills a child still running a task: the jobs' hard limit
    (`JobLimits.kill_after`), past the deadline at which a run stops itself."""
    publish_timeout: float = 2.0
    shutdown_grace: float = 60.0
    """Seconds running tasks get on a cold shutdown before they are stopped and handed back."""


def create_celery(config: QueueConfig) -> Celery:
    app = Celery("experiments", broker=config.broker_url, set_as_current=False)
    hard_limit = config.kill_after
    app.conf.update(
        task_default_queue=config.queue,
        task_serializer="json",
        accept_content=["json"],
        # Postgres is the job store: nothing is written to or read from a result backend.
        task_ignore_result=True,
        result_backend=None,
        # A message is acknowledged only after its task ran, and given back when the child
        # running it dies, so a killed worker loses nothing.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=hard_limit,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # On a cold shutdown (SIGQUIT; SIGTERM too where REMAP_SIGTERM=SIGQUIT, as compose and
        # `experiments serve` set it) running jobs get this long to finish; then the worker
        # stops and Redis gets their messages back at once, for another worker. Celery waits
        # the whole time whenever a task runs, even one that ends sooner.
        worker_soft_shutdown_timeout=config.shutdown_grace,
        # Task events from the workers, for Flower. No "task-sent" event at a launch: it cost
        # a second Redis round trip each, under a lock every publishing thread shares (a
        # launch took twice as long); a queued job is on the page and in /metrics instead.
        worker_send_task_events=True,
        task_send_sent_event=False,
        # Redis re-delivers a message not acknowledged within this time; it must exceed the
        # longest run, or a job still running would be started twice.
        broker_transport_options={
            "visibility_timeout": int(hard_limit * 2),
            "socket_connect_timeout": config.publish_timeout,
            "socket_timeout": config.publish_timeout,
        },
        broker_connection_timeout=config.publish_timeout,
        # A worker started before Redis is up, or while it refuses writes (past `maxmemory`:
        # an OOM reply is a channel error, not a connection error), keeps retrying for ever
        # instead of exiting, and serves once Redis can.
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        broker_channel_error_retry=True,
        worker_hijack_root_logger=False,
    )
    return app
