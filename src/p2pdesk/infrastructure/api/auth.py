"""Resolving the caller into an application Principal, and the API's permission check."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from p2pdesk import bootstrap
from p2pdesk.application.principal import Principal


def principal_of(request: Request) -> Principal:
    # Kept on the user object: per request for sessions, per cache entry for cached tokens.
    user = request.user
    cached = getattr(user, "_p2pdesk_principal", None)
    if cached is not None:
        return cached
    principal = bootstrap.principal_for(user)
    if principal is None:
        raise PermissionDenied("this user has no p2pdesk role; ask an admin to grant one")
    user._p2pdesk_principal = principal  # type: ignore[union-attr]
    return principal


class CachingTokenAuthentication(TokenAuthentication):
    """Token auth that remembers a valid key's user (and so its principal) for a few seconds.

    Why: the token, role and team lookups are three queries on every call, about a fifth of a
    ticket create's cost. The price: revoking a token, deactivating a user or changing a role or
    team takes effect in every process within P2PDESK_AUTH_CACHE_SECONDS (0 turns the cache off).
    """

    _entries: dict[str, tuple[float, Any, Any]] = {}
    MAX_ENTRIES = 10_000

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        ttl = float(getattr(settings, "P2PDESK_AUTH_CACHE_SECONDS", 0))
        if ttl <= 0:
            return super().authenticate_credentials(key)
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1], entry[2]
        user, token = super().authenticate_credentials(key)  # raises on a bad or inactive key
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (now + ttl, user, token)
        return user, token

    @classmethod
    def forget_all(cls) -> None:
        cls._entries.clear()


class HasDeskRole(BasePermission):
    """Authenticated and holding a role; finer rules (per role, per team) live in the use cases."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        principal_of(request)
        return True
