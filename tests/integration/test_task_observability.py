"""Celery's side of observability, through a real worker on Redis: the request id of the request
that queued a task is on the task's log lines; task failures are counted; one beat at a time."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import structlog
from prometheus_client import REGISTRY

from config import celery_app
from p2pdesk.infrastructure.persistence.locks import SchedulerLock


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


@celery_app.task(name="tests.report_log_context")
def report_log_context(path: str) -> None:
    """What every log line of this task would carry (structlog merges these into each line)."""
    # Written aside and renamed into place: the test polls for the file and must never read it half-written.
    part = Path(path + ".part")
    part.write_text(json.dumps(structlog.contextvars.get_contextvars()))
    part.replace(path)


def test_the_request_id_travels_into_the_task_it_queues(redis_worker: str, tmp_path: Path) -> None:
    report = tmp_path / "context.json"
    structlog.contextvars.bind_contextvars(request_id="req-0c9e1f")  # as the HTTP middleware does
    try:
        queued = report_log_context.delay(str(report))
    finally:
        structlog.contextvars.clear_contextvars()
    wait_for(report.exists)
    # Bound in the worker's thread, which never saw this thread's context: it came in the message.
    assert json.loads(report.read_text()) == {
        "request_id": "req-0c9e1f",
        "task": "tests.report_log_context",
        "task_id": queued.id,
    }


def test_a_task_queued_outside_any_request_has_no_request_id(redis_worker: str, tmp_path: Path) -> None:
    report = tmp_path / "context.json"
    report_log_context.delay(str(report))
    wait_for(report.exists)
    assert json.loads(report.read_text())["request_id"] is None


def failures(task: str) -> float:
    return REGISTRY.get_sample_value("p2pdesk_task_failures_total", {"task": task}) or 0.0


@celery_app.task(name="tests.always_fails")
def always_fails() -> None:
    raise ValueError("broken on purpose")


def test_a_failing_task_is_counted(redis_worker: str) -> None:
    before = failures("tests.always_fails")
    always_fails.delay()
    wait_for(lambda: failures("tests.always_fails") > before)
    assert failures("tests.always_fails") == before + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_beat_waits_until_the_first_is_gone() -> None:
    first, second = SchedulerLock(), SchedulerLock()
    assert first.try_acquire()
    try:
        assert not second.try_acquire()
    finally:
        first.release()
    assert second.try_acquire()
    second.release()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_hold_blocks_while_another_beat_runs() -> None:
    running = SchedulerLock()
    assert running.try_acquire()
    held, stop = threading.Event(), threading.Event()

    def start_second_beat() -> None:
        SchedulerLock.hold(retry_seconds=0.1)
        held.set()
        stop.wait(30.0)
        SchedulerLock._held.release()  # type: ignore[union-attr]  # in the thread that made it

    waiter = threading.Thread(target=start_second_beat, daemon=True)
    waiter.start()
    assert not held.wait(1.0)  # still waiting while the first beat holds the lock
    running.release()
    assert held.wait(30.0)
    stop.set()
    waiter.join(30.0)


def test_tasks_are_acknowledged_late_one_at_a_time() -> None:
    """A worker killed mid-task leaves the task on the queue: acks late, rejected (requeued) when the
    worker is lost, and no task prefetched beyond the one running."""
    celery_app.loader.import_default_modules()
    conf = celery_app.conf
    assert conf.task_acks_late
    assert conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    desk_tasks = [t for name, t in celery_app.tasks.items() if name.startswith("p2pdesk.")]
    assert desk_tasks
    assert all(t.acks_late for t in desk_tasks)
    # Redelivery of an unacknowledged task waits for the visibility timeout: it must outlast the
    # longest task, or a live task would be handed to a second worker.
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit


def test_a_worker_serves_its_metrics_for_prometheus(settings: Any) -> None:
    import socket
    import urllib.request

    from p2pdesk import bootstrap

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    settings.P2PDESK_WORKER_METRICS_PORT = port
    bootstrap.serve_worker_metrics()  # what the worker_ready signal calls in a worker's main process
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert "p2pdesk_task_failures_total" in text
