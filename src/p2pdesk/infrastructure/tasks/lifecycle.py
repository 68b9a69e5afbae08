"""Process-level hooks for Celery's worker and beat (connected when config/celery.py imports this):
a worker serves its Prometheus metrics; a beat waits until it is the only scheduler."""

from __future__ import annotations

from typing import Any

from celery.signals import beat_init, worker_ready

from p2pdesk import bootstrap


@worker_ready.connect
def serve_metrics(**_: Any) -> None:
    bootstrap.serve_worker_metrics()


@beat_init.connect
def single_scheduler(**_: Any) -> None:
    bootstrap.hold_scheduler_lock()
