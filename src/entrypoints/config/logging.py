"""Logging of every process (API, worker, CLI): one format, to standard error, configured by
the process itself (the app factory, the worker's process init), so that processes started by
uvicorn or Celery log like the one that started them."""

from __future__ import annotations

import logging
import logging.config

CONTEXT_FIELDS = ("job_id", "attempt", "worker", "table")
"""`extra` fields shown after a message when a record has them."""


class ContextFormatter(logging.Formatter):
    """The standard format, plus `key=value` for each context field the record carries."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = " ".join(
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None) is not None
        )
        return f"{text} [{context}]" if context else text


def configure_logging(level: str) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "context": {
                    "()": ContextFormatter,
                    "format": "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
                }
            },
            # The real standard error: in a worker's children `sys.stderr` is Celery's proxy
            # into logging itself, through which every record of a job's run was lost.
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "context",
                    "stream": "ext://sys.__stderr__",
                }
            },
            "root": {"level": level.upper(), "handlers": ["stderr"]},
        }
    )
