"""The Celery app: workers run `celery -A config worker`, the scheduler `celery -A config beat`.

Without CELERY_BROKER_URL tasks run in the calling process (task_always_eager), so the embedded
desk needs no broker.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("p2pdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["p2pdesk.infrastructure.tasks"], related_name="mail")
app.autodiscover_tasks(["p2pdesk.infrastructure.tasks"], related_name="sla")

# Signal handlers: request ids and task metrics (every process), worker metrics and beat's lock.
import p2pdesk.infrastructure.events.task_context  # noqa: E402
import p2pdesk.infrastructure.tasks.lifecycle  # noqa: E402, F401
