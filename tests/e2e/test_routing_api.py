"""Routing through the API: rules CRUD (audited), explain, routed tickets with their references,
reference filters, misroute metric, the shipped rule set and a trained model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from p2pdesk import bootstrap
from p2pdesk.application.principal import Role
from tests.e2e.conftest import client_for


@pytest.fixture(autouse=True)
def _fresh_desk() -> Any:
    bootstrap.desk.cache_clear()  # the router caches rules and teams per desk
    yield
    bootstrap.desk.cache_clear()


def rule_body(team: int, **fields: Any) -> dict[str, Any]:
    return {
        "name": "Payments chasers",
        "conditions": [{"field": "body", "op": "contains_any", "value": ["not been paid", "überfällig"]}],
        "actions": {"team": team, "priority": 2, "tags": ["dunning"]},
        **fields,
    }


def test_rules_crud_is_audited(admin: APIClient, make_team: Callable[..., dict[str, Any]]) -> None:
    payments = make_team(name="Payments")
    created = admin.post("/api/v1/routing-rules/", rule_body(payments["id"]), format="json")
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["match"] == "all"
    assert rule["enabled"]
    assert not rule["stop"]
    changed = admin.patch(
        f"/api/v1/routing-rules/{rule['id']}/", {"position": 7, "match": "any"}, format="json"
    )
    assert changed.json()["position"] == 7
    assert [r["id"] for r in admin.get("/api/v1/routing-rules/").json()] == [rule["id"]]
    assert admin.delete(f"/api/v1/routing-rules/{rule['id']}/").status_code == 204
    assert admin.get(f"/api/v1/routing-rules/{rule['id']}/").status_code == 404
    audit = admin.get(f"/api/v1/audit-events/?entity_type=routing_rule&entity_id={rule['id']}").json()[
        "results"
    ]
    assert [e["action"] for e in audit] == [
        "routing_rule.deleted",
        "routing_rule.updated",
        "routing_rule.created",
    ]
    assert audit[1]["after"] == {"position": 7, "match": "any"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conditions": [{"field": "body", "op": "matches", "value": "(a)\\1"}]}, None),
        ({"conditions": [{"field": "weather", "op": "equals", "value": "rain"}]}, "conditions"),
        ({"conditions": []}, "conditions"),
        ({"actions": {"team": 99999}}, None),
        ({"actions": {}}, None),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_rules_get_a_4xx_with_a_reason(
    admin: APIClient, make_team: Callable[..., dict[str, Any]], change: dict[str, Any], field: str | None
) -> None:
    team = make_team()
    response = admin.post("/api/v1/routing-rules/", {**rule_body(team["id"]), **change}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"]
    assert body["message"]
    if field:
        assert field in str(body["details"])


def test_only_admins_see_rules_and_explain(admin: APIClient) -> None:
    lead = client_for("lead@p2pdesk.example", Role.TEAM_LEAD)
    assert lead.get("/api/v1/routing-rules/").status_code == 403
    assert (
        lead.post("/api/v1/routing/explain/", {"subject": "x", "body": "y"}, format="json").status_code == 403
    )


def test_explain_shows_the_decision_and_creates_nothing(
    admin: APIClient, make_team: Callable[..., dict[str, Any]]
) -> None:
    payments = make_team(name="Payments")
    admin.post("/api/v1/routing-rules/", rule_body(payments["id"]), format="json")
    response = admin.post(
        "/api/v1/routing/explain/",
        {
            "subject": "Rechnung RE-2026-0042",
            "body": "Die Rechnung ist seit Mai überfällig, Betrag 1.234,56 EUR",
            "from": "ar@vendor.example",
            "attachments": ["RE-2026-0042.pdf"],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "team": payments["id"],
        "team_name": "Payments",
        "priority": 2,
        "tags": ["dunning"],
        "references": [
            {"type": "invoice", "value": "RE-2026-0042"},
            {"type": "amount", "value": "1234.56 EUR"},
        ],
        "decided_by": "rule:Payments chasers",
        "confidence": None,
    }
    assert admin.get("/api/v1/tickets/").json()["results"] == []
    unknown = admin.post("/api/v1/routing/explain/", {"subject": "x", "mailbox": "nope"}, format="json")
    assert unknown.status_code == 400


def test_a_ticket_without_a_team_is_routed_shows_its_references_and_is_found_by_them(
    admin: APIClient, make_team: Callable[..., dict[str, Any]], make_agent: Callable[..., dict[str, Any]]
) -> None:
    payments = make_team(name="Payments")
    make_agent([payments["id"]])
    admin.post("/api/v1/routing-rules/", rule_body(payments["id"]), format="json")
    body = {
        "subject": "Invoice INV-881 for PO 4500012345",
        "description": "INV-881 has not been paid",
        "requester_email": "ar@vendor.example",
    }
    created = admin.post("/api/v1/tickets/", body, format="json")
    assert created.status_code == 201, created.content
    ticket = created.json()
    assert (ticket["team"], ticket["priority"], ticket["agent"] is not None) == (payments["id"], 3, True)
    assert ticket["routing"] == {
        "decided_by": "rule:Payments chasers",
        "confidence": None,
        "tags": ["dunning"],
    }
    assert {"type": "po", "value": "4500012345"} in ticket["references"]
    other = admin.post(
        "/api/v1/tickets/",
        {**body, "team": payments["id"], "reference": {"type": "po", "id": "777"}, "description": "x"},
        format="json",
    ).json()
    assert other["routing"] is None

    def found(query: str) -> list[str]:
        return [t["id"] for t in admin.get(f"/api/v1/tickets/?{query}").json()["results"]]

    assert found("reference_type=invoice&reference_id=INV-881") == [ticket["id"]]
    assert found("reference_id=4500012345") == [ticket["id"]]
    assert found("reference_type=po&reference_id=777") == [other["id"]]  # the single external reference
    assert set(found("reference_type=po")) == {ticket["id"], other["id"]}
    assert found("reference_type=invoice&reference_id=777") == []
    stored = admin.get(f"/api/v1/tickets/{ticket['id']}/").json()
    assert stored == {**ticket, "updated_at": stored["updated_at"]}  # the create answered what was stored


def test_no_team_and_nothing_to_route_to_is_a_400(admin: APIClient) -> None:
    response = admin.post(
        "/api/v1/tickets/", {"subject": "Hello", "requester_email": "a@b.example"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "team"}


def misroutes(team: int) -> float:
    return REGISTRY.get_sample_value("p2pdesk_routing_misroutes_total", {"team": str(team)}) or 0.0


def test_moving_a_routed_ticket_counts_a_misroute(
    admin: APIClient,
    make_team: Callable[..., dict[str, Any]],
    make_agent: Callable[..., dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    payments, ap = make_team(name="Payments"), make_team(name="AP")
    make_agent([payments["id"], ap["id"]])
    admin.post("/api/v1/routing-rules/", rule_body(payments["id"]), format="json")
    ticket = admin.post(
        "/api/v1/tickets/",
        {"subject": "x", "description": "has not been paid", "requester_email": "a@b.example"},
        format="json",
    ).json()
    before = misroutes(payments["id"])
    with django_capture_on_commit_callbacks(execute=True):
        moved = admin.patch(f"/api/v1/tickets/{ticket['id']}/", {"team": ap["id"]}, format="json")
    assert moved.status_code == 200
    assert misroutes(payments["id"]) == before + 1


def explain(admin: APIClient, subject: str, body: str = "") -> dict[str, Any]:
    response = admin.post("/api/v1/routing/explain/", {"subject": subject, "body": body}, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_the_shipped_rules_load_once_and_route_in_four_languages(admin: APIClient, capsys: Any) -> None:
    call_command("load_default_routing")
    assert "rules created" in capsys.readouterr().out
    call_command("load_default_routing")
    assert "0 teams created, 0 rules created" in capsys.readouterr().out
    call_command("load_default_routing", "--update")  # this version's rules are already there
    assert "0 rules created" in (out := capsys.readouterr().out)
    assert "0 updated, 0 retired" in out
    teams = {t["name"]: t["id"] for t in admin.get("/api/v1/teams/").json()["results"]}
    cases = [
        ("Neue Bankverbindung", "Bitte zahlen Sie ab sofort auf unsere neue IBAN.", "Risk"),
        ("Facture F-2026-118", "Veuillez trouver ci-joint notre facture.", "Accounts Payable"),
        ("Pago pendiente", "No hemos recibido el pago de la factura 3340.", "Payments"),
        ("Onboarding", "We would like to register as a supplier.", "Vendor Management"),
        ("Guten Tag", "Anbei der Handelsregisterauszug und die Ausweiskopie für das KYC.", "KYC"),
        ("Hello", "Please call me back.", "Triage"),
    ]
    for subject, body, team in cases:
        explained = explain(admin, subject, body)
        assert explained["team"] == teams[team], (subject, explained)


def test_train_router_stores_a_model_the_router_then_uses(
    admin: APIClient,
    make_team: Callable[..., dict[str, Any]],
    make_agent: Callable[..., dict[str, Any]],
    capsys: Any,
) -> None:
    payments, ap = make_team(name="Payments"), make_team(name="AP")
    make_agent([payments["id"], ap["id"]])
    history = {
        payments["id"]: [
            "money has not arrived",
            "transfer still missing",
            "when do you pay us",
            "remittance please",
        ],
        ap["id"]: [
            "bill copy needed",
            "credit memo attached",
            "statement reconciliation",
            "tax rate wrong on bill",
        ],
    }
    for team, subjects in history.items():
        for n in range(3):
            for subject in subjects:
                t = admin.post(
                    "/api/v1/tickets/",
                    {"subject": f"{subject} {n}", "team": team, "requester_email": "a@b.example"},
                    format="json",
                ).json()
                admin.patch(f"/api/v1/tickets/{t['id']}/", {"status": "resolved"}, format="json")
    call_command("train_router", "--test-share", "0.25")
    out = capsys.readouterr().out
    assert "24 examples of 2 teams" in out
    assert "v1" in out
    bootstrap.desk.cache_clear()
    explained = explain(admin, "the transfer has not arrived")
    assert explained["decided_by"] == "model:v1"
    assert explained["team"] == payments["id"]
    assert explained["confidence"] >= 0.6


def test_history_imported_from_before_the_desk_trains_the_router_and_is_kept(
    admin: APIClient, make_team: Callable[..., dict[str, Any]], capsys: Any, tmp_path: Path
) -> None:
    from p2pdesk.infrastructure.persistence.models import ImportedRoutingExampleRecord

    payments, ap = make_team(name="Payments"), make_team(name="Accounts Payable")
    history = {
        "payments": [
            "money has not arrived",
            "transfer still missing",
            "when do you pay us",
            "remittance please",
        ],
        "accounts payable": [
            "bill copy needed",
            "credit memo attached",
            "statement reconciliation",
            "tax wrong",
        ],
    }
    export = tmp_path / "old-helpdesk.jsonl"
    export.write_text(
        "".join(
            json.dumps({"subject": f"{subject} {n}", "body": "", "team": team}) + "\n"
            for team, subjects in history.items()
            for subject in subjects
            for n in range(3)
        )
    )
    call_command("train_router", "--import", str(export), "--test-share", "0.25")
    out = capsys.readouterr().out
    assert "24 examples (24 imported, 24 of them now) of 2 teams" in out
    assert "v1" in out
    bootstrap.desk.cache_clear()
    explained = explain(admin, "the transfer has not arrived")
    assert (explained["decided_by"], explained["team"]) == ("model:v1", payments["id"])
    assert ImportedRoutingExampleRecord.objects.filter(team_id=ap["id"]).count() == 12

    call_command("train_router", "--import", str(export))  # the same file again adds nothing
    assert "24 examples (24 imported, 0 of them now)" in capsys.readouterr().out
    call_command("train_router")  # and later trainings keep what was imported
    assert "24 examples (24 imported, 0 of them now)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ({"subject": "x", "body": "y", "team": "Paymnets"}, "not exactly one live team: 'Paymnets'"),
        ({"subject": "x", "body": "y"}, "old.jsonl:1: no team"),
        ({"subject": "x", "body": "y", "team": "payments"}, "cannot train: .* at least two teams"),
    ],
)
def test_a_bad_import_is_refused_and_nothing_is_kept(
    make_team: Callable[..., dict[str, Any]], tmp_path: Path, line: dict[str, str], error: str
) -> None:
    from p2pdesk.infrastructure.persistence.models import ImportedRoutingExampleRecord, RouterModelRecord

    make_team(name="Payments")
    export = tmp_path / "old.jsonl"
    export.write_text("".join(json.dumps(dict(line, subject=f"x {n}")) + "\n" for n in range(5)))
    with pytest.raises(CommandError, match=error):
        call_command("train_router", "--import", str(export))
    assert not ImportedRoutingExampleRecord.objects.exists()
    assert not RouterModelRecord.objects.exists()


def test_the_schema_documents_routing(admin: APIClient) -> None:
    paths = admin.get("/api/schema/?format=json").json()["paths"]
    assert {"/api/v1/routing-rules/", "/api/v1/routing-rules/{rule_id}/", "/api/v1/routing/explain/"} <= set(
        paths
    )


def test_rules_edited_in_the_admin_are_validated_and_audited(
    make_team: Callable[..., dict[str, Any]],
) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    team = make_team(name="Payments")
    user = get_user_model().objects.create_superuser("root@p2pdesk.example", "root@p2pdesk.example", "pw")
    staff = Client()
    staff.force_login(user)
    form = {
        "name": "Admin rule",
        "position": "3",
        "enabled": "on",
        "match": "any",
        "conditions": '[{"field": "body", "op": "matches", "value": "(a)\\\\1"}]',
        "actions": f'{{"team": {team["id"]}}}',
    }
    refused = staff.post("/admin/p2pdesk/routingrulerecord/add/", form)
    assert refused.status_code == 200  # the form again, with the RE2 error
    assert b"RE2" in refused.content
    form["conditions"] = '[{"field": "body", "op": "contains", "value": "remittance"}]'
    assert staff.post("/admin/p2pdesk/routingrulerecord/add/", form).status_code == 302
    admin_api = client_for("admin@p2pdesk.example", Role.ADMIN)
    [rule] = admin_api.get("/api/v1/routing-rules/").json()
    staff.post(f"/admin/p2pdesk/routingrulerecord/{rule['id']}/change/", {**form, "position": "4"})
    staff.post(f"/admin/p2pdesk/routingrulerecord/{rule['id']}/delete/", {"post": "yes"})
    audit = admin_api.get(f"/api/v1/audit-events/?entity_type=routing_rule&entity_id={rule['id']}").json()
    actions = [(e["action"], e["actor"]) for e in audit["results"]]
    actor = "admin:root@p2pdesk.example"
    assert actions == [
        ("routing_rule.deleted", actor),
        ("routing_rule.updated", actor),
        ("routing_rule.created", actor),
    ]
