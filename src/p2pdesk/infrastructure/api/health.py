"""Liveness, readiness and Prometheus metrics: plain Django views, no authentication."""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from p2pdesk import bootstrap


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """503 when the database is unreachable. A failing mailbox is reported but does not make the
    service unready: the API still works, and restarting the pod would not fix a mailbox password."""
    ok, reason = bootstrap.database_ready()
    body: dict[str, object] = {"status": "ok" if ok else "unavailable", "checks": {"database": reason}}
    if ok:
        body["mailboxes"] = bootstrap.mailbox_health()
    return JsonResponse(body, status=200 if ok else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    """This process's metrics, or every worker's when gunicorn runs with PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
