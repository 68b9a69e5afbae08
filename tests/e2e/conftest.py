"""API tests: real HTTP handling through Django's test client, tokens per role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from p2pdesk import bootstrap
from p2pdesk.application.principal import Role


@pytest.fixture(autouse=True)
def _db(db: None) -> None:
    """Every API test uses the database."""


def client_for(email: str, role: Role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {bootstrap.issue_api_token(email, role)}")
    return client


@pytest.fixture
def admin() -> APIClient:
    return client_for("admin@p2pdesk.example", Role.ADMIN)


@pytest.fixture
def make_team(admin: APIClient) -> Callable[..., dict[str, Any]]:
    counter = iter(range(1, 10_000))

    def make(**fields: Any) -> dict[str, Any]:
        body = {"name": f"Team {next(counter)}", **fields}
        response = admin.post("/api/v1/teams/", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return make


@pytest.fixture
def make_agent(admin: APIClient) -> Callable[..., dict[str, Any]]:
    counter = iter(range(1, 100_000))

    def make(teams: list[int], **fields: Any) -> dict[str, Any]:
        n = next(counter)
        body = {"email": f"agent{n}@p2pdesk.example", "name": f"Agent {n}", "teams": teams, **fields}
        response = admin.post("/api/v1/agents/", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return make


@pytest.fixture
def make_ticket(admin: APIClient) -> Callable[..., dict[str, Any]]:
    def make(team: int, client: APIClient | None = None, **fields: Any) -> dict[str, Any]:
        body = {
            "subject": "Invoice INV-1 missing",
            "description": "We have not received payment.",
            "team": team,
            "requester_email": "ap@vendor.example",
            **fields,
        }
        response = (client or admin).post("/api/v1/tickets/", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return make
