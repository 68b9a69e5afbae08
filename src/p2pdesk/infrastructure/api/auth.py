"""Resolving the caller into an application Principal, and the API's permission check."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from p2pdesk import bootstrap
from p2pdesk.application.principal import Principal


def principal_of(request: Request) -> Principal:
    cached = getattr(request, "_p2pdesk_principal", None)
    if cached is not None:
        return cached
    principal = bootstrap.principal_for(request.user)
    if principal is None:
        raise PermissionDenied("this user has no p2pdesk role; ask an admin to grant one")
    request._p2pdesk_principal = principal  # type: ignore[attr-defined]
    return principal


class HasDeskRole(BasePermission):
    """Authenticated and holding a role; finer rules (per role, per team) live in the use cases."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        principal_of(request)
        return True
