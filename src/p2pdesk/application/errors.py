"""Errors the application raises at its edge; the API maps each code to an HTTP status once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApplicationError(Exception):
    code = "application_error"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})


class NotFound(ApplicationError):
    code = "not_found"


class ValidationFailed(ApplicationError):
    code = "invalid"


class Conflict(ApplicationError):
    code = "conflict"


class PermissionDenied(ApplicationError):
    code = "permission_denied"


class IdempotencyConflict(ApplicationError):
    code = "idempotency_key_reused"


class IdempotencyRace(Exception):
    """Another transaction committed the same idempotency key first; retrying finds its result."""


class TransientConflict(Exception):
    """A deadlock or serialization failure: the whole unit of work can safely run again."""


class GroupConflict(Exception):
    """A transient conflict inside a commit group: the group rolled back; redo its work ungrouped."""
