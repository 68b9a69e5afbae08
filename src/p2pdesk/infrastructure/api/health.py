"""Liveness, readiness and Prometheus metrics: plain Django views, no authentication."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from p2pdesk import bootstrap


def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers. No dependency is checked: a database outage must not restart pods."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """503 unless both the database and the broker answer; each check is bounded by its connect
    timeout (DB_CONNECT_TIMEOUT, BROKER_CONNECT_TIMEOUT), so this never hangs. A failing mailbox is
    reported but does not make the service unready: the API still works, and restarting the pod
    would not fix a mailbox password."""
    database_ok, database = bootstrap.database_ready()
    broker_ok, broker = bootstrap.broker_ready()
    ok = database_ok and broker_ok
    body: dict[str, object] = {
        "status": "ok" if ok else "unavailable",
        "checks": {"database": database, "broker": broker},
    }
    if database_ok:
        body["mailboxes"] = bootstrap.mailbox_health()
    response = JsonResponse(body, status=200 if ok else 503)
    if not ok:
        response["Retry-After"] = "5"
    return response


def metrics(request: HttpRequest) -> HttpResponse:
    """Every gunicorn worker's metrics (PROMETHEUS_MULTIPROC_DIR) or this process's, plus the gauges
    read at scrape time."""
    body, content_type = bootstrap.metrics_exposition()
    return HttpResponse(body, content_type=content_type)
