"""The Celery broker seen from outside the workers: is it reachable, and how many tasks wait.

Both go through kombu, so they work the same on Redis (the list `celery`) and RabbitMQ (the queue
`celery`), and both are bounded by the broker's connect timeout (settings BROKER_CONNECT_TIMEOUT):
a dead broker costs /readyz and a Prometheus scrape a few seconds at most, never a hang.
"""

from __future__ import annotations

from celery import Celery, current_app
from kombu.exceptions import ChannelError


def _app(app: Celery | None) -> Celery:
    return app or current_app


def broker_configured(app: Celery | None = None) -> bool:
    return not _app(app).conf.task_always_eager


def check_broker(app: Celery | None = None) -> tuple[bool, str]:
    """(reachable, reason); the reason is safe to show (no URL, no password)."""
    app = _app(app)
    if not broker_configured(app):
        return True, "not configured (tasks run in process)"
    timeout = float(app.conf.broker_connection_timeout or 3)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
    except Exception as error:  # any failure to reach it is "not ready", whatever the transport says
        return False, type(error).__name__
    return True, "ok"


def queue_depths(app: Celery | None = None) -> dict[str, int]:
    """Tasks waiting (not yet taken by a worker) per queue; empty without a broker."""
    app = _app(app)
    if not broker_configured(app):
        return {}
    queues = {app.conf.task_default_queue, *(q.name for q in app.conf.task_queues or ())}
    timeout = float(app.conf.broker_connection_timeout or 3)
    depths: dict[str, int] = {}
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        channel = connection.default_channel
        for name in sorted(queues):
            try:
                depths[name] = int(channel.queue_declare(name, passive=True).message_count)
            except ChannelError:  # not declared yet (Redis: no list until a task is queued)
                depths[name] = 0
    return depths
