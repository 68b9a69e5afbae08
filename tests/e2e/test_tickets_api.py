"""The ticket API end to end: HTTP in, database out, through every layer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from p2pdesk.application.principal import Role
from tests.e2e.conftest import client_for

MakeFn = Callable[..., dict[str, Any]]


def test_create_assigns_and_returns_the_contract_fields(
    make_team: MakeFn, make_agent: MakeFn, admin: APIClient
) -> None:
    team = make_team()
    agent = make_agent([team["id"]])
    response = admin.post(
        "/api/v1/tickets/",
        {
            "subject": "PO 4500012345 approval stuck",
            "description": "Waiting on the cost-centre owner since Monday.",
            "team": team["id"],
            "priority": 2,
            "requester_email": "Buyer@Corp.Example",
            "reference": {"type": "po", "id": "4500012345"},
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["number"].startswith("P2P-")
    assert len(body["number"]) == 10
    assert (body["status"], body["agent"], body["team"], body["priority"]) == (
        "new",
        agent["id"],
        team["id"],
        2,
    )
    assert body["reference"] == {"type": "po", "id": "4500012345"}
    assert body["requester_email"] == "buyer@corp.example"
    assert {"id", "created_at", "updated_at"} <= body.keys()
    assert admin.get(f"/api/v1/tickets/{body['id']}/").json() == body
    assert admin.get(f"/api/v1/agents/{agent['id']}/").json()["tickets_assigned_today"] == 1


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"subject": "x", "team": 999, "requester_email": "a@b.example"}, 400, "invalid"),
        ({"subject": "x", "team": "abc", "requester_email": "a@b.example"}, 400, "invalid"),
        ({"subject": "x", "team": 1, "requester_email": "not-an-email"}, 400, "invalid"),
        ({"subject": "x", "team": 1, "requester_email": "a@b.example", "priority": 9}, 400, "invalid"),
        (
            {"subject": "x", "team": 1, "requester_email": "a@b.example", "reference": {"type": "po"}},
            400,
            "invalid",
        ),
        ({"subject": "x", "team": 1, "requester_email": "a@b.example", "colour": "red"}, 400, "invalid"),
        ({"team": 1, "requester_email": "a@b.example"}, 400, "invalid"),
        ([1, 2, 3], 400, "invalid"),
    ],
)
def test_bad_input_gets_a_json_4xx_and_creates_nothing(
    make_team: MakeFn, admin: APIClient, payload: Any, status: int, code: str
) -> None:
    make_team()
    response = admin.post("/api/v1/tickets/", payload, format="json")
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert admin.get("/api/v1/tickets/").json()["results"] == []


def test_malformed_json_and_inactive_team(make_team: MakeFn, admin: APIClient) -> None:
    response = admin.generic("POST", "/api/v1/tickets/", '{"subject": ', content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "malformed_json")
    team = make_team(is_active=False)
    response = admin.post(
        "/api/v1/tickets/",
        {"subject": "x", "team": team["id"], "requester_email": "a@b.example"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "team_unavailable")


def test_idempotency_key_replays_and_refuses_another_body(make_team: MakeFn, admin: APIClient) -> None:
    team = make_team()
    body = {"subject": "Remittance advice", "team": team["id"], "requester_email": "a@b.example"}
    first = admin.post("/api/v1/tickets/", body, format="json", HTTP_IDEMPOTENCY_KEY="erp-42")
    again = admin.post("/api/v1/tickets/", body, format="json", HTTP_IDEMPOTENCY_KEY="erp-42")
    other = admin.post(
        "/api/v1/tickets/", {**body, "subject": "else"}, format="json", HTTP_IDEMPOTENCY_KEY="erp-42"
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert first.json()["id"] == again.json()["id"]
    assert other.json()["code"] == "idempotency_key_reused"
    assert len(admin.get("/api/v1/tickets/").json()["results"]) == 1


def test_patch_status_priority_and_illegal_transition(
    make_team: MakeFn, make_agent: MakeFn, make_ticket: MakeFn, admin: APIClient
) -> None:
    team = make_team()
    make_agent([team["id"]])
    ticket = make_ticket(team["id"])
    url = f"/api/v1/tickets/{ticket['id']}/"
    response = admin.patch(url, {"status": "resolved", "priority": 1}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["priority"]) == ("resolved", 1)
    assert admin.patch(url, {"status": "closed"}, format="json").status_code == 200
    refused = admin.patch(url, {"status": "pending"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "illegal_transition"
    assert "closed to pending" in refused.json()["message"]
    assert admin.patch(url, {"status": "archived"}, format="json").status_code == 400
    assert admin.patch(url, {}, format="json").status_code == 400
    assert admin.patch(f"/api/v1/tickets/{uuid.uuid4()}/", {"priority": 1}, format="json").status_code == 404


def test_patch_team_reassigns_within_the_new_team(
    make_team: MakeFn, make_agent: MakeFn, make_ticket: MakeFn, admin: APIClient
) -> None:
    ap, payments = make_team(), make_team()
    make_agent([ap["id"]])
    payer = make_agent([payments["id"]])
    ticket = make_ticket(ap["id"])
    moved = admin.patch(f"/api/v1/tickets/{ticket['id']}/", {"team": payments["id"]}, format="json").json()
    assert (moved["team"], moved["agent"]) == (payments["id"], payer["id"])
    unassigned = admin.patch(f"/api/v1/tickets/{ticket['id']}/", {"agent": None}, format="json").json()
    assert unassigned["agent"] is None


def test_list_filters_and_cursor_pagination(
    make_team: MakeFn, make_agent: MakeFn, make_ticket: MakeFn, admin: APIClient
) -> None:
    ap, kyc = make_team(), make_team()
    a = make_agent([ap["id"]])
    for n in range(7):
        make_ticket(
            ap["id"], requester_email=f"v{n % 2}@x.example", reference={"type": "invoice", "id": f"INV-{n}"}
        )
    make_ticket(kyc["id"], priority=1, reference={"type": "kyc_user", "id": "42"})

    def ids(query: str) -> list[str]:
        return [t["id"] for t in admin.get(f"/api/v1/tickets/?{query}").json()["results"]]

    assert len(ids(f"team={ap['id']}")) == 7
    assert len(ids(f"agent={a['id']}")) == 7
    assert len(ids("priority=1")) == 1
    assert len(ids("requester_email=V1@x.example")) == 3
    assert len(ids("reference_type=kyc_user&reference_id=42")) == 1
    assert len(ids("status=new&status=open")) == 8
    assert ids("created_after=2000-01-01T00:00:00Z")
    assert not ids("created_before=2000-01-01T00:00:00Z")

    seen: list[str] = []
    url: str | None = "/api/v1/tickets/?limit=3"
    while url:
        page = admin.get(url).json()
        seen += [t["id"] for t in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 8
    assert seen == ids("limit=50")  # newest first, same order page by page

    bad = admin.get("/api/v1/tickets/?created_after=yesterday&priority=x")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_query")
    assert admin.get("/api/v1/tickets/?cursor=%%%").status_code == 400
    assert admin.get("/api/v1/tickets/?limit=100000").status_code == 400


def test_bulk_update_ten_thousand_tickets_all_or_nothing(
    make_team: MakeFn, make_agent: MakeFn, make_ticket: MakeFn, admin: APIClient
) -> None:
    team = make_team()
    make_agent([team["id"]])
    ids = [make_ticket(team["id"])["id"] for _ in range(3)]
    closed = make_ticket(team["id"])["id"]
    admin.patch(f"/api/v1/tickets/{closed}/", {"status": "closed"}, format="json")

    refused = admin.post(
        "/api/v1/tickets/bulk-update/", {"ids": [*ids, closed], "set": {"status": "pending"}}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["details"]["failures"][0]["id"] == closed
    assert {admin.get(f"/api/v1/tickets/{i}/").json()["status"] for i in ids} == {"new"}

    done = admin.post(
        "/api/v1/tickets/bulk-update/",
        {"ids": ids, "set": {"status": "pending", "priority": 2}},
        format="json",
    )
    assert done.status_code == 200
    assert done.json() == {"matched": 3, "updated": 3}

    unknown = [str(uuid.uuid4()) for _ in range(10_000)]
    many = admin.post("/api/v1/tickets/bulk-update/", {"ids": unknown, "set": {"priority": 1}}, format="json")
    assert (many.status_code, many.json()["code"]) == (404, "not_found")
    too_many = admin.post(
        "/api/v1/tickets/bulk-update/",
        {"ids": [*unknown, str(uuid.uuid4())], "set": {"priority": 1}},
        format="json",
    )
    assert too_many.status_code == 400
    assert "at most 10000" in too_many.json()["message"]
    assert (
        admin.post("/api/v1/tickets/bulk-update/", {"ids": ids, "set": {}}, format="json").status_code == 400
    )


def test_reassign_endpoint_reports_receivers(
    make_team: MakeFn, make_agent: MakeFn, make_ticket: MakeFn, admin: APIClient
) -> None:
    team = make_team()
    leaving = make_agent([team["id"]])
    for _ in range(4):
        make_ticket(team["id"])
    a, b = make_agent([team["id"]]), make_agent([team["id"]])
    response = admin.post("/api/v1/tickets/reassign/", {"agents": [leaving["id"]]}, format="json")
    assert response.status_code == 200
    assert response.json() == {"moved": 4, "unassigned": 0, "received": {str(a["id"]): 2, str(b["id"]): 2}}
    assert admin.post("/api/v1/tickets/reassign/", {"agents": [999]}, format="json").status_code == 400


def test_roles_limit_what_callers_see_and_do(
    make_team: MakeFn, make_agent: MakeFn, make_ticket: MakeFn, admin: APIClient
) -> None:
    ap, kyc = make_team(), make_team()
    make_agent([ap["id"]], email="ana@p2pdesk.example")
    make_agent([kyc["id"]])
    ap_ticket, kyc_ticket = make_ticket(ap["id"]), make_ticket(kyc["id"])
    ana = client_for("ana@p2pdesk.example", Role.AGENT)
    listed = [t["id"] for t in ana.get("/api/v1/tickets/").json()["results"]]
    assert listed == [ap_ticket["id"]]
    assert ana.get(f"/api/v1/tickets/{kyc_ticket['id']}/").status_code == 404
    assert (
        ana.patch(f"/api/v1/tickets/{ap_ticket['id']}/", {"status": "open"}, format="json").status_code == 200
    )
    assert ana.post("/api/v1/teams/", {"name": "Mine"}, format="json").status_code == 403
    assert ana.get("/api/v1/audit-events/").status_code == 403

    erp = client_for("erp@corp.example", Role.INTEGRATION)
    created = erp.post(
        "/api/v1/tickets/",
        {"subject": "GRN mismatch", "team": kyc["id"], "requester_email": "wms@corp.example"},
        format="json",
    )
    assert created.status_code == 201
    assert erp.get(f"/api/v1/tickets/{created.json()['id']}/").status_code == 200
    assert (
        erp.patch(f"/api/v1/tickets/{created.json()['id']}/", {"status": "open"}, format="json").status_code
        == 403
    )

    anonymous = APIClient()
    assert anonymous.get("/api/v1/tickets/").status_code == 401
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token nope")
    assert bad_token.get("/api/v1/tickets/").json()["code"] == "authentication_failed"
