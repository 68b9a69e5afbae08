"""ports.mailboxes.PollScheduler on Celery: queue the mail tasks by their registered names.

Why here and by name: the tasks are a driving adapter (`infrastructure.tasks`, above the composition
root), so no driven adapter may import them (import-linter's hexagon-layers contract), while the
use cases that need a poll queued sit below bootstrap. Queuing is a message to the task bus, which
is what `events` is for, and Celery addresses tasks by name, so this adapter needs celery alone.
tests/integration/test_push_subscriptions.py checks that the names exist.

With a broker, `send_task` returns once the broker has the message: a notification is answered
only after its poll is queued, and a broker that cannot take it fails the request, so the
provider delivers the notification again. Without a broker (CELERY_TASK_ALWAYS_EAGER), send_task
would still try a broker, so the registered task runs in process instead, as `delay()` would. An
error there is logged, not raised: the notification has been honoured as far as it can be, and
the scheduled poll runs again anyway.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import Celery, current_app

log = structlog.get_logger(__name__)

POLL_TASK = "p2pdesk.infrastructure.tasks.mail.poll_mailbox_task"
RENEW_TASK = "p2pdesk.infrastructure.tasks.mail.renew_push_subscription_task"


class CeleryPollScheduler:
    def __init__(self, app: Celery | None = None) -> None:
        self._app = app  # the current app (config.celery's) when None

    def schedule(self, mailbox: str) -> None:
        self._enqueue(POLL_TASK, mailbox)

    def schedule_renewal(self, mailbox: str, *, recreate: bool = False) -> None:
        self._enqueue(RENEW_TASK, mailbox, recreate)

    def _enqueue(self, name: str, *args: Any) -> None:
        app = self._app or current_app
        if not app.conf.task_always_eager:
            app.send_task(name, args=list(args))
            return
        if name not in app.tasks:
            # The task modules are imported lazily, by Celery's autodiscovery (config/celery.py).
            app.loader.import_default_modules()
        try:
            app.tasks[name].apply_async(args=list(args))
        except Exception:
            log.exception("push.task_failed_in_process", task=name, mailbox=args[0])
