"""Teams, agents and the audit trail through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management import call_command
from rest_framework.test import APIClient

MakeFn = Callable[..., dict[str, Any]]


def test_team_lifecycle(admin: APIClient, make_team: MakeFn, make_agent: MakeFn, make_ticket: MakeFn) -> None:
    created = admin.post(
        "/api/v1/teams/",
        {"name": "Accounts Payable", "description": "Invoices", "timezone": "Europe/Berlin"},
        format="json",
    )
    assert created.status_code == 201
    team = created.json()
    assert team == {**team, "name": "Accounts Payable", "is_active": True, "timezone": "Europe/Berlin"}
    assert admin.post("/api/v1/teams/", {"name": "accounts payable"}, format="json").status_code == 409
    assert (
        admin.post("/api/v1/teams/", {"name": "X", "timezone": "Mars/Base"}, format="json").status_code == 400
    )
    patched = admin.patch(f"/api/v1/teams/{team['id']}/", {"description": "AP"}, format="json")
    assert patched.json()["description"] == "AP"

    make_agent([team["id"]])
    make_ticket(team["id"])
    refused = admin.delete(f"/api/v1/teams/{team['id']}/")
    assert (refused.status_code, refused.json()["code"]) == (409, "conflict")
    triage = make_team()
    assert admin.delete(f"/api/v1/teams/{team['id']}/?move_to={triage['id']}").status_code == 204
    assert admin.get(f"/api/v1/teams/{team['id']}/").status_code == 404
    assert [t["id"] for t in admin.get("/api/v1/teams/").json()["results"]] == [triage["id"]]
    assert admin.get(f"/api/v1/tickets/?team={triage['id']}").json()["results"]
    history = admin.get(f"/api/v1/audit-events/?entity_type=team&entity_id={team['id']}").json()["results"]
    assert [e["action"] for e in history] == ["team.deleted", "team.updated", "team.created"]


def test_agent_lifecycle_moves_tickets(admin: APIClient, make_team: MakeFn, make_ticket: MakeFn) -> None:
    team = admin.post("/api/v1/teams/", {"name": "KYC"}, format="json").json()
    first = admin.post(
        "/api/v1/agents/",
        {"email": "Ana@P2PDesk.example", "name": "Ana", "teams": [team["id"]]},
        format="json",
    ).json()
    assert first["email"] == "ana@p2pdesk.example"
    assert first["teams"] == [team["id"]]
    assert (
        admin.post(
            "/api/v1/agents/", {"email": "ana@p2pdesk.example", "name": "Dup", "teams": []}, format="json"
        ).status_code
        == 409
    )
    assert (
        admin.post(
            "/api/v1/agents/", {"email": "b@x.example", "name": "B", "teams": [999]}, format="json"
        ).status_code
        == 400
    )
    tickets = [make_ticket(team["id"])["id"] for _ in range(3)]

    off = admin.patch(f"/api/v1/agents/{first['id']}/", {"is_active": False}, format="json")
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    assert {admin.get(f"/api/v1/tickets/{t}/").json()["agent"] for t in tickets} == {None}

    second = admin.post(
        "/api/v1/agents/", {"email": "bo@x.example", "name": "Bo", "teams": [team["id"]]}, format="json"
    ).json()
    assert {admin.get(f"/api/v1/tickets/{t}/").json()["agent"] for t in tickets} == {second["id"]}
    assert admin.get(f"/api/v1/agents/{second['id']}/").json()["total_tickets_assigned"] == 3

    assert admin.delete(f"/api/v1/agents/{second['id']}/").status_code == 204
    assert admin.get(f"/api/v1/agents/{second['id']}/").status_code == 404
    assert admin.get(f"/api/v1/agents/?team={team['id']}").json()["results"][0]["id"] == first["id"]


def test_audit_events_filter_by_entity_actor_and_time(
    admin: APIClient, make_team: MakeFn, make_agent: MakeFn, make_ticket: MakeFn
) -> None:
    team = make_team()
    make_agent([team["id"]])
    ticket = make_ticket(team["id"])
    events = admin.get(f"/api/v1/audit-events/?entity_type=ticket&entity_id={ticket['id']}").json()["results"]
    assert [e["action"] for e in events] == ["ticket.assigned", "ticket.created"]
    assert set(events[0]) >= {"action", "actor", "at", "entity_type", "entity_id", "before", "after"}
    assert events[0]["actor"] == "user:admin@p2pdesk.example"
    assert admin.get("/api/v1/audit-events/?actor=user:admin@p2pdesk.example").json()["results"]
    assert not admin.get("/api/v1/audit-events/?since=2999-01-01T00:00:00Z").json()["results"]


def test_health_metrics_and_schema(admin: APIClient) -> None:
    anonymous = APIClient()
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert anonymous.get("/readyz").json()["checks"]["database"] == "ok"
    metrics = anonymous.get("/metrics")
    assert metrics.status_code == 200
    assert b"p2pdesk_http_request_duration_seconds" in metrics.content
    schema = anonymous.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {
        "/api/v1/tickets/",
        "/api/v1/tickets/bulk-update/",
        "/api/v1/tickets/reassign/",
        "/api/v1/audit-events/",
    } <= set(paths)
    assert anonymous.get("/api/docs/").status_code == 200


def test_create_api_token_prints_only_the_token(capsys: Any) -> None:
    call_command("create_api_token", "--email", "erp@corp.example", "--role", "integration")
    token = capsys.readouterr().out.strip()
    assert len(token) == 40
    assert token.isalnum()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/tickets/").status_code == 200
    call_command("create_api_token", "--email", "erp@corp.example", "--role", "integration")
    assert capsys.readouterr().out.strip() == token


def test_demo_loads_a_working_desk_once(admin: APIClient, capsys: Any) -> None:
    call_command("demo")
    assert "Loaded 7 teams" in capsys.readouterr().out
    teams = admin.get("/api/v1/teams/").json()["results"]
    assert {t["name"] for t in teams} >= {
        "Accounts Payable",
        "Payments",
        "Vendor Management",
        "Procurement",
        "Inventory",
        "KYC",
        "Risk",
    }
    tickets = admin.get("/api/v1/tickets/?limit=500").json()["results"]
    assert len(tickets) >= 60
    active = [t for t in tickets if t["status"] in ("new", "open", "pending")]
    assert active
    assert all(t["agent"] is not None for t in active)
    call_command("demo")
    assert "already has teams" in capsys.readouterr().out
    assert len(admin.get("/api/v1/tickets/?limit=500").json()["results"]) == len(tickets)
