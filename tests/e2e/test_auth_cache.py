"""The API token cache: a checked token skips the token and role queries for a few seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from p2pdesk.application.principal import Role
from p2pdesk.infrastructure.api.auth import CachingTokenAuthentication
from tests.e2e.conftest import client_for


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, settings: object) -> Iterator[FakeMonotonic]:
    fake = FakeMonotonic()
    monkeypatch.setattr("p2pdesk.infrastructure.api.auth.time.monotonic", fake)
    settings.P2PDESK_AUTH_CACHE_SECONDS = 10  # type: ignore[attr-defined]
    CachingTokenAuthentication.forget_all()
    yield fake
    CachingTokenAuthentication.forget_all()


def _queries(client: object) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/teams/")  # type: ignore[attr-defined]
        assert response.status_code == 200, response.content
    return [q["sql"] for q in captured.captured_queries]


def test_a_checked_token_is_not_looked_up_again_within_the_ttl(clock: FakeMonotonic) -> None:
    client = client_for("lead@p2pdesk.example", Role.TEAM_LEAD)
    first = _queries(client)
    second = _queries(client)
    assert any("authtoken_token" in sql for sql in first)
    assert not any("authtoken_token" in sql or "p2pdesk_user_role" in sql for sql in second)


def test_a_revoked_token_is_refused_once_the_ttl_has_passed(clock: FakeMonotonic) -> None:
    client = client_for("integration@p2pdesk.example", Role.INTEGRATION)
    assert client.get("/api/v1/tickets/").status_code == 200
    Token.objects.all().delete()
    clock.now += 5
    assert client.get("/api/v1/tickets/").status_code == 200  # the documented grace: within the TTL
    clock.now += 6
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 401
    assert response.json()["code"]


def test_a_ttl_of_zero_checks_every_request(clock: FakeMonotonic, settings: object) -> None:
    settings.P2PDESK_AUTH_CACHE_SECONDS = 0  # type: ignore[attr-defined]
    client = client_for("integration@p2pdesk.example", Role.INTEGRATION)
    _queries(client)
    assert any("authtoken_token" in sql for sql in _queries(client))


def test_a_wrong_token_is_refused_and_not_cached(clock: FakeMonotonic) -> None:
    client = client_for("integration@p2pdesk.example", Role.INTEGRATION)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get("/api/v1/tickets/").status_code == 401
    assert "not-a-real-key" not in CachingTokenAuthentication._entries
