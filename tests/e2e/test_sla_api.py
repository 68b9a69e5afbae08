"""SLA end to end: calendars and policies through the API, tickets carrying their dues and state,
the sla_state filter, the escalation command, the admin, and the SLA gauges on /metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from rest_framework.test import APIClient

from p2pdesk import bootstrap
from p2pdesk.application.principal import Role
from p2pdesk.infrastructure.persistence.models import AuditEventRecord, TicketRecord
from tests.e2e.conftest import client_for

MakeFn = Callable[..., dict[str, Any]]

OFFICE = {
    "name": "Berlin office",
    "timezone": "Europe/Berlin",
    "working_days": [0, 1, 2, 3, 4],
    "start": "09:00",
    "end": "17:00",
    "holidays": ["2026-12-24", "2026-12-25"],
}
ALWAYS = {"name": "24/7", "timezone": "UTC", "working_days": list(range(7)), "start": "00:00", "end": "24:00"}


@pytest.fixture
def lead_setup(admin: APIClient, make_team: MakeFn, make_agent: MakeFn) -> dict[str, Any]:
    """A team with an agent, a second agent, and a team lead who is an agent of the team."""
    team = make_team()
    other_team = make_team()
    agents = [make_agent([team["id"]]) for _ in range(2)]
    lead_agent = make_agent([team["id"]], email="lea.lead@p2pdesk.example", name="Lea Lead")
    # The lead is unavailable for tickets but still leads: escalations go to her inbox.
    admin.patch(f"/api/v1/agents/{lead_agent['id']}/", {"is_active": False}, format="json")
    lead = client_for("lea.lead@p2pdesk.example", Role.TEAM_LEAD)
    calendar = admin.post("/api/v1/calendars/", ALWAYS, format="json").json()
    return {"team": team, "other_team": other_team, "agents": agents, "lead": lead, "calendar": calendar}


def policy_body(team: int, calendar: int, **fields: Any) -> dict[str, Any]:
    return {
        "team": team,
        "priority": 3,
        "calendar": calendar,
        "first_response_minutes": 60,
        "resolution_minutes": 480,
        **fields,
    }


def test_calendars_round_trip_and_bad_ones_get_a_clear_400(admin: APIClient) -> None:
    created = admin.post("/api/v1/calendars/", OFFICE, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert {k: body[k] for k in OFFICE} == OFFICE
    changed = admin.patch(f"/api/v1/calendars/{body['id']}/", {"end": "18:00"}, format="json")
    assert changed.json()["end"] == "18:00"
    assert [c["name"] for c in admin.get("/api/v1/calendars/").json()["results"]] == ["Berlin office"]
    for bad, code in [
        ({**OFFICE, "name": "x", "timezone": "Mars/Base"}, "invalid_value"),
        ({**OFFICE, "name": "y", "start": "18:00"}, "invalid_value"),
        ({**OFFICE, "name": "z", "start": "9am"}, "invalid"),
        ({**OFFICE, "name": "w", "working_days": [7]}, "invalid"),
        ({**OFFICE, "colour": "red"}, "invalid"),
    ]:
        response = admin.post("/api/v1/calendars/", bad, format="json")
        assert response.status_code == 400, bad
        assert response.json()["code"] == code
    assert admin.post("/api/v1/calendars/", OFFICE, format="json").status_code == 409
    assert admin.delete(f"/api/v1/calendars/{body['id']}/").status_code == 204
    assert admin.get(f"/api/v1/calendars/{body['id']}/").status_code == 404
    actions = list(
        AuditEventRecord.objects.filter(entity_type="sla_calendar").values_list("action", flat=True)
    )
    assert sorted(actions) == ["sla_calendar.created", "sla_calendar.deleted", "sla_calendar.updated"]


def test_team_leads_manage_their_teams_policies_and_agents_none(lead_setup: dict[str, Any]) -> None:
    team, other, calendar = (
        lead_setup["team"]["id"],
        lead_setup["other_team"]["id"],
        lead_setup["calendar"]["id"],
    )
    lead: APIClient = lead_setup["lead"]
    created = lead.post("/api/v1/sla-policies/", policy_body(team, calendar), format="json")
    assert created.status_code == 201, created.content
    policy = created.json()
    assert (policy["at_risk_share"], policy["at_risk_actions"]) == (0.8, ["notify_team_lead"])
    assert lead.post("/api/v1/sla-policies/", policy_body(other, calendar), format="json").status_code == 403
    assert lead.post("/api/v1/sla-policies/", policy_body(team, calendar), format="json").status_code == 409
    agent = client_for("agent1@p2pdesk.example", Role.AGENT)
    assert agent.get("/api/v1/sla-policies/").status_code == 403
    assert agent.get("/api/v1/calendars/").status_code == 403
    bad = lead.patch(f"/api/v1/sla-policies/{policy['id']}/", {"breach_actions": ["page"]}, format="json")
    assert bad.status_code == 400
    too_long = lead.patch(
        f"/api/v1/sla-policies/{policy['id']}/", {"first_response_minutes": 600}, format="json"
    )
    assert too_long.status_code == 400
    assert too_long.json()["code"] == "invalid_value"
    assert lead.delete(f"/api/v1/sla-policies/{policy['id']}/").status_code == 204
    assert lead.get(f"/api/v1/sla-policies/{policy['id']}/").json()["is_active"] is False


def test_tickets_show_their_sla_and_the_list_filters_on_it(
    admin: APIClient, lead_setup: dict[str, Any], make_ticket: MakeFn
) -> None:
    team, calendar = lead_setup["team"]["id"], lead_setup["calendar"]["id"]
    admin.post("/api/v1/sla-policies/", policy_body(team, calendar), format="json")
    with_sla = make_ticket(team)
    without = make_ticket(team, priority=1)
    created = datetime.fromisoformat(with_sla["created_at"])
    assert with_sla["sla_state"] == "ok"
    assert datetime.fromisoformat(with_sla["first_response_due"]) - created == timedelta(hours=1)
    assert datetime.fromisoformat(with_sla["resolution_due"]) - created == timedelta(hours=8)
    assert (without["sla_state"], without["resolution_due"]) == (None, None)
    admin.patch(f"/api/v1/tickets/{with_sla['id']}/", {"status": "pending"}, format="json")
    paused = admin.get("/api/v1/tickets/?sla_state=paused").json()["results"]
    assert [t["id"] for t in paused] == [with_sla["id"]]
    assert admin.get("/api/v1/tickets/?sla_state=ok&sla_state=at_risk").json()["results"] == []
    bad = admin.get("/api/v1/tickets/?sla_state=late")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_query")
    admin.patch(f"/api/v1/tickets/{with_sla['id']}/", {"status": "resolved"}, format="json")
    assert admin.get(f"/api/v1/tickets/{with_sla['id']}/").json()["sla_state"] == "met"


def _as_if_created_hours_ago(ticket_id: str, hours: float) -> None:
    """Move a ticket's SLA clock back in time, as if it had been opened `hours` ago."""
    shift = timedelta(hours=hours)
    row = TicketRecord.objects.get(id=ticket_id)
    TicketRecord.objects.filter(id=ticket_id).update(
        created_at=row.created_at - shift,
        first_response_due=row.first_response_due - shift,
        first_response_at_risk_at=row.first_response_at_risk_at - shift,
        resolution_due=row.resolution_due - shift,
        resolution_at_risk_at=row.resolution_at_risk_at - shift,
        sla_next_check_at=row.sla_next_check_at - shift,
    )


def test_escalation_emails_the_lead_raises_priority_reassigns_and_runs_once(
    admin: APIClient, lead_setup: dict[str, Any], make_ticket: MakeFn, django_capture_on_commit_callbacks: Any
) -> None:
    team, calendar = lead_setup["team"]["id"], lead_setup["calendar"]["id"]
    body = policy_body(team, calendar, breach_actions=["notify_team_lead", "raise_priority", "reassign"])
    admin.post("/api/v1/sla-policies/", body, format="json")
    ticket = make_ticket(team)
    _as_if_created_hours_ago(ticket["id"], 2)  # first response due an hour ago
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # mail goes out after commit
        call_command("escalate_sla", stdout=out)
    summary = json.loads(out.getvalue())
    assert [e["threshold"] for e in summary["escalations"]] == [
        "first_response.at_risk",
        "first_response.breached",
    ]
    after = admin.get(f"/api/v1/tickets/{ticket['id']}/").json()
    assert (after["sla_state"], after["priority"]) == ("breached", 2)
    assert after["agent"] not in (ticket["agent"], None)
    assert [m.to for m in mail.outbox] == [["lea.lead@p2pdesk.example"]] * 2
    assert "has breached its first response target" in mail.outbox[1].body
    audited = admin.get(f"/api/v1/audit-events/?entity_id={ticket['id']}&action=ticket.sla_escalated").json()
    assert len(audited["results"]) == 2
    assert audited["results"][0]["actor"] == "system:sla"
    out = StringIO()
    call_command("escalate_sla", stdout=out)
    assert json.loads(out.getvalue())["escalations"] == []
    assert len(mail.outbox) == 2
    assert admin.get("/api/v1/tickets/?sla_state=breached").json()["results"][0]["id"] == ticket["id"]


def test_metrics_show_sla_gauges_per_team(
    admin: APIClient, lead_setup: dict[str, Any], make_ticket: MakeFn, django_capture_on_commit_callbacks: Any
) -> None:
    team, calendar = lead_setup["team"]["id"], lead_setup["calendar"]["id"]
    admin.post("/api/v1/sla-policies/", policy_body(team, calendar), format="json")
    late, fine = make_ticket(team), make_ticket(team)
    _as_if_created_hours_ago(late["id"], 2)
    with django_capture_on_commit_callbacks(execute=True):  # counters are published after commit
        call_command("escalate_sla", stdout=StringIO())
    assert fine["sla_state"] == "ok"
    text = APIClient().get("/metrics").content.decode()
    assert f'p2pdesk_sla_tickets_breached{{team="{team}"}} 1.0' in text
    assert f'p2pdesk_sla_adherence_ratio{{team="{team}"}} 0.5' in text
    assert f'p2pdesk_sla_escalations_total{{team="{team}",threshold="first_response.breached"}}' in text


def test_the_admin_edits_calendars_with_domain_checks_and_audit(admin: APIClient) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_superuser("root@p2pdesk.example", "root@p2pdesk.example", "pw")
    staff = Client()
    staff.force_login(user)
    form = {
        "name": "Office",
        "timezone": "Europe/Berlin",
        "working_days": "[0, 1, 2, 3, 4]",
        "start_minute": "1020",
        "end_minute": "540",
        "holidays": "[]",
    }
    refused = staff.post("/admin/p2pdesk/calendarrecord/add/", form)
    assert refused.status_code == 200
    assert b"open before they close" in refused.content
    saved = staff.post(
        "/admin/p2pdesk/calendarrecord/add/", {**form, "start_minute": "540", "end_minute": "1020"}
    )
    assert saved.status_code == 302
    [event] = AuditEventRecord.objects.filter(action="sla_calendar.created")
    assert event.actor == "admin:root@p2pdesk.example"
    assert event.after["name"] == "Office"


def test_the_demo_loads_calendars_and_policies_and_its_tickets_have_slas(
    admin: APIClient, tmp_path: Any, settings: Any
) -> None:
    settings.P2PDESK_DATA_DIR = tmp_path
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    bootstrap.desk.cache_clear()
    try:
        call_command("demo", stdout=StringIO())
    finally:
        bootstrap.desk.cache_clear()
    calendars = admin.get("/api/v1/calendars/").json()["results"]
    assert {c["name"] for c in calendars} >= {"Berlin office", "24/7"}
    policies = admin.get("/api/v1/sla-policies/").json()["results"]
    assert len(policies) == 8 * 4  # the seven P2P teams and Triage
    tickets = admin.get("/api/v1/tickets/?limit=500").json()["results"]
    assert tickets
    assert all(t["resolution_due"] is not None for t in tickets)
    assert {t["sla_state"] for t in tickets} <= {"ok", "paused", "met"}
    assert datetime.fromisoformat(tickets[0]["resolution_due"]) > datetime.now(UTC) - timedelta(days=1)


def test_a_bulk_update_moves_the_clocks_too(
    admin: APIClient, lead_setup: dict[str, Any], make_ticket: MakeFn
) -> None:
    team, calendar = lead_setup["team"]["id"], lead_setup["calendar"]["id"]
    admin.post("/api/v1/sla-policies/", policy_body(team, calendar), format="json")
    ids = [make_ticket(team)["id"] for _ in range(3)]
    response = admin.post(
        "/api/v1/tickets/bulk-update/", {"ids": ids, "set": {"status": "pending"}}, format="json"
    )
    assert response.json() == {"matched": 3, "updated": 3}
    rows = TicketRecord.objects.filter(id__in=ids)
    assert {(r.sla_state, r.sla_stopped_at is not None, r.sla_next_check_at) for r in rows} == {
        ("paused", True, None)
    }
    admin.post("/api/v1/tickets/bulk-update/", {"ids": ids, "set": {"priority": 2}}, format="json")
    assert set(TicketRecord.objects.filter(id__in=ids).values_list("sla_state", flat=True)) == {"paused"}


def test_beat_runs_the_escalation_task_which_escalates(
    admin: APIClient, lead_setup: dict[str, Any], make_ticket: MakeFn
) -> None:
    from django.conf import settings

    from config import celery_app
    from p2pdesk.infrastructure.tasks.sla import escalate_sla_task

    celery_app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "p2pdesk.infrastructure.tasks.sla.escalate_sla_task" in scheduled
    assert scheduled <= set(celery_app.tasks)  # every scheduled task is one the workers know
    team, calendar = lead_setup["team"]["id"], lead_setup["calendar"]["id"]
    admin.post("/api/v1/sla-policies/", policy_body(team, calendar), format="json")
    ticket = make_ticket(team)
    _as_if_created_hours_ago(ticket["id"], 2)
    assert escalate_sla_task.delay().get() == {"checked": 1, "escalated": 2}  # in process: no broker
    assert escalate_sla_task.delay().get() == {"checked": 0, "escalated": 0}


def test_opening_a_ticket_under_a_policy_costs_no_extra_query(
    admin: APIClient, lead_setup: dict[str, Any], make_ticket: MakeFn
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    team, calendar = lead_setup["team"]["id"], lead_setup["calendar"]["id"]
    admin.post("/api/v1/sla-policies/", policy_body(team, calendar), format="json")
    make_ticket(team)  # warm-up: the first request loads the user and token
    counts = {}
    for priority in (1, 3):  # priority 1 has no policy, 3 has one
        with CaptureQueriesContext(connection) as queries:
            ticket = make_ticket(team, priority=priority)
        counts[priority] = len(queries)
        assert (ticket["sla_state"] is None) == (priority == 1)
    assert counts[1] == counts[3]  # the policy comes with its calendar in the one lookup
