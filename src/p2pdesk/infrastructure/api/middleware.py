"""Request plumbing: a request id on every log line and response, request latency by route for
Prometheus (labelled by URL pattern, not raw path: bounded labels), and 503 instead of 500 while a
dependency (database, broker) is down."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import Histogram

from p2pdesk.infrastructure.api.errors import dependency_unavailable

log = structlog.get_logger("p2pdesk.http")

REQUEST_LATENCY = Histogram(
    "p2pdesk_http_request_duration_seconds",
    "HTTP request latency by route, method and status",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only when it looks like one: it is echoed and logged, so no free text.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})  # probes and scrapes: not logged


def request_id_of(request: HttpRequest) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex


class RequestMetricsMiddleware:
    """Outermost: binds the request id for every log line of the request (and the Celery tasks it
    queues, see events.task_context), times it, and logs one `http.request` line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_of(request)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            route = match.route if match is not None else "unmatched"
            REQUEST_LATENCY.labels(route=route, method=request.method, status=response.status_code).observe(
                elapsed
            )
            response[REQUEST_ID_HEADER] = request_id
            if route not in _QUIET_ROUTES:
                log.info(
                    "http.request",
                    method=request.method,
                    route=route,
                    status=response.status_code,
                    duration_ms=round(elapsed * 1000, 1),
                )
            return response
        finally:
            structlog.contextvars.clear_contextvars()


class DependencyErrorsMiddleware:
    """Plain Django views (health, admin) that hit a dead database answer 503 JSON, as DRF views do
    through the exception handler."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        unavailable = dependency_unavailable(exception)
        if unavailable is None:
            return None
        code, message = unavailable
        log.warning("http.dependency_unavailable", code=code, error=type(exception).__name__)
        response = JsonResponse({"code": code, "message": message}, status=503)
        response["Retry-After"] = "5"
        return response
