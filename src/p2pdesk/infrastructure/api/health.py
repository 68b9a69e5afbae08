"""Liveness, readiness and Prometheus metrics: plain Django views, no authentication."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from p2pdesk import bootstrap


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    ok, reason = bootstrap.database_ready()
    body = {"status": "ok" if ok else "unavailable", "checks": {"database": reason}}
    return JsonResponse(body, status=200 if ok else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
