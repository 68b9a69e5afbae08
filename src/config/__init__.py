"""The Django project: settings, URLs, the Celery app and the `p2pdesk` console script."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
