"""Celery's signals, for observability: the request id of the HTTP request that queued a task rides
along in the task message's headers and is bound for every log line the task writes; failures and
retries are counted for Prometheus.

Connected when config/celery.py imports this module, in every process that publishes or runs tasks.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery.signals import before_task_publish, task_failure, task_postrun, task_prerun, task_retry

from p2pdesk.infrastructure.events.metrics import TASK_FAILURES, TASK_RETRIES

REQUEST_ID_HEADER = "request_id"

# The context a task found when it started (an eager task runs inside the request that queued it):
# restored when it ends, by task id.
_outer_context: dict[str, dict[str, Any]] = {}


@before_task_publish.connect
def attach_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@task_prerun.connect
def bind_task_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    outer = structlog.contextvars.get_contextvars()
    if task_id is not None:
        _outer_context[task_id] = outer
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None
    structlog.contextvars.bind_contextvars(
        request_id=request_id or outer.get("request_id"),
        task=getattr(task, "name", None),
        task_id=task_id,
    )


@task_postrun.connect
def unbind_task_context(task_id: str | None = None, **_: Any) -> None:
    outer = _outer_context.pop(task_id, {}) if task_id is not None else {}
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**outer)


@task_failure.connect
def count_failure(sender: Any = None, **_: Any) -> None:
    TASK_FAILURES.labels(task=getattr(sender, "name", "unknown")).inc()


@task_retry.connect
def count_retry(sender: Any = None, **_: Any) -> None:
    TASK_RETRIES.labels(task=getattr(sender, "name", "unknown")).inc()
