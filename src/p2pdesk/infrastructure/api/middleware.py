"""Request latency by route for Prometheus, labelled by URL pattern (not raw path: bounded labels)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Histogram

REQUEST_LATENCY = Histogram(
    "p2pdesk_http_request_duration_seconds",
    "HTTP request latency by route, method and status",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "unmatched"
        REQUEST_LATENCY.labels(route=route, method=request.method, status=response.status_code).observe(
            time.perf_counter() - started
        )
        return response
