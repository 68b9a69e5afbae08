"""The one place errors become HTTP: JSON `{"code", "message", "details"}`, 4xx for bad input."""

from __future__ import annotations

from typing import Any

import structlog
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404
from kombu.exceptions import OperationalError as BrokerOperationalError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from p2pdesk.application import errors as app
from p2pdesk.domain import errors as domain
from p2pdesk.ports.queries import InvalidQuery

log = structlog.get_logger(__name__)

_APPLICATION_STATUS: list[tuple[type[app.ApplicationError], int]] = [
    (app.NotFound, 404),
    (app.PermissionDenied, 403),
    (app.IdempotencyConflict, 409),
    (app.Conflict, 409),
    (app.ValidationFailed, 400),
]
_DOMAIN_STATUS: list[tuple[type[domain.DomainError], int]] = [
    (domain.IllegalTransition, 409),
    (domain.TeamUnavailable, 400),
    (domain.AgentUnavailable, 400),
    (domain.InvalidValue, 400),
]


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return Response(body, status=status)


def dependency_unavailable(exc: BaseException) -> tuple[str, str] | None:
    """(code, message) when `exc` means the database or the broker cannot be reached right now."""
    if isinstance(exc, DatabaseOperationalError | DatabaseInterfaceError):
        return "database_unavailable", "the database cannot be reached; try again shortly"
    if isinstance(exc, BrokerOperationalError):
        return "broker_unavailable", "the task queue cannot be reached; try again shortly"
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    unavailable = dependency_unavailable(exc)
    if unavailable is not None:
        log.warning("api.dependency_unavailable", code=unavailable[0], error=type(exc).__name__)
        response = error_response(503, *unavailable)
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, app.ApplicationError):
        status = next(s for cls, s in _APPLICATION_STATUS if isinstance(exc, cls))
        return error_response(status, exc.code, exc.message, exc.details)
    if isinstance(exc, domain.DomainError):
        status = next((s for cls, s in _DOMAIN_STATUS if isinstance(exc, cls)), 400)
        return error_response(status, exc.code, exc.message)
    if isinstance(exc, InvalidQuery):
        return error_response(400, "invalid_query", "some query parameters are invalid", exc.errors)
    if isinstance(exc, RequestDataTooBig):
        return error_response(
            413, "request_too_large", "the request body is larger than this endpoint accepts"
        )
    if isinstance(exc, Http404):
        return error_response(404, "not_found", "not found")
    if isinstance(exc, drf.ValidationError):
        return error_response(400, "invalid", _first_message(exc.detail), exc.detail)
    if isinstance(exc, drf.ParseError):
        return error_response(400, "malformed_json", f"the request body is not valid JSON: {exc.detail}")
    if isinstance(exc, drf.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response = error_response(exc.status_code, str(code), str(exc.detail))
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        return response
    log.exception("api.unhandled_error", view=type(context.get("view")).__name__)
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def _first_message(detail: Any) -> str:
    """A readable one-line summary of a (possibly nested) DRF validation error."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail) or "invalid input"
