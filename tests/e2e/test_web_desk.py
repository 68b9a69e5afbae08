"""The web desk end to end through Django's test client: pages, forms, scoping, CSRF, audit."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from p2pdesk import bootstrap
from p2pdesk.application.principal import Role
from p2pdesk.infrastructure.cli.demo import DEMO_LOGINS, set_demo_logins
from p2pdesk.ports.queries import Scope

MakeFn = Callable[..., dict[str, Any]]
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, settings: Any) -> Any:
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    bootstrap.desk.cache_clear()
    yield
    bootstrap.desk.cache_clear()


def web_client(email: str, role: Role, **kwargs: Any) -> Client:
    bootstrap.set_login(email, role, PASSWORD)
    client = Client(**kwargs)
    assert client.login(username=email, password=PASSWORD)
    return client


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "the page has a CSRF token"
    return match.group(1)


def mime(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Vendor AP <ap@acme.example>"
    message["To"] = "ap@p2p.example"
    message["Subject"] = f"Invoice INV-{n} missing"
    message["Message-ID"] = f"<web{n}@acme.example>"
    message.set_content(f"Invoice INV-{n} is not in the portal.")
    message.add_alternative(
        f'<p>Invoice <b>INV-{n}</b> <script>alert(1)</script><img src="https://t.example/x.gif"></p>',
        subtype="html",
    )
    message.add_attachment(b"%PDF-1.4 demo", maintype="application", subtype="pdf", filename=f"INV-{n}.pdf")
    return message.as_bytes()


@pytest.fixture
def desk(admin: APIClient, make_team: MakeFn, make_agent: MakeFn, make_ticket: MakeFn, tmp_path: Path) -> Any:
    ap, kyc = make_team(name="Accounts Payable"), make_team(name="KYC")
    ana = make_agent([ap["id"]], email="ana@p2p.example", name="Ana Agent")
    ben = make_agent([ap["id"]], email="ben@p2p.example", name="Ben Backup")
    make_agent([kyc["id"]], email="kim@p2p.example", name="Kim KYC")
    mailbox = {
        "name": "default",
        "kind": "maildir",
        "address": "ap@p2p.example",
        "settings": {"path": str(tmp_path / "maildir")},
        "default_team": ap["id"],
    }
    assert admin.post("/api/v1/mailboxes/", mailbox, format="json").status_code == 201
    emailed = admin.generic("POST", "/api/v1/intake/messages/", mime(1), content_type="message/rfc822")
    assert emailed.status_code == 201, emailed.content
    kyc_ticket = make_ticket(
        kyc["id"], subject="KYC documents expired", reference={"type": "vendor", "id": "V-9"}
    )
    return {
        "ap": ap,
        "kyc": kyc,
        "ana": ana,
        "ben": ben,
        "emailed": emailed.json()["ticket"],
        "kyc_ticket": kyc_ticket,
    }


def test_login_with_email_and_password_on_djangos_form() -> None:
    bootstrap.set_login("ana@p2p.example", Role.AGENT, PASSWORD)
    client = Client()
    assert client.get("/desk/").url.startswith("/desk/login/")
    page = client.get("/desk/login/").content.decode()
    assert 'name="username"' in page
    assert 'name="password"' in page
    wrong = client.post("/desk/login/", {"username": "ana@p2p.example", "password": "nope"})
    assert wrong.status_code == 200
    assert b"Please enter a correct" in wrong.content
    signed_in = client.post("/desk/login/", {"username": " Ana@P2P.example ", "password": PASSWORD})
    assert (signed_in.status_code, signed_in.url) == (302, "/desk/")


def test_demo_logins_get_fresh_passwords_that_work() -> None:
    logins = set_demo_logins(bootstrap.set_login)
    assert [(email, role) for email, role, _ in logins] == list(DEMO_LOGINS)
    assert len({password for _, _, password in logins}) == len(logins)
    for email, _, password in logins:
        assert Client().login(username=email, password=password)
    [(email, _, new), *_] = set_demo_logins(bootstrap.set_login)
    assert Client().login(username=email, password=new)
    assert not Client().login(username=email, password=logins[0][2])


def test_an_agent_sees_only_their_teams(desk: dict[str, Any]) -> None:
    ana = web_client("ana@p2p.example", Role.AGENT)
    tray = ana.get("/desk/tray/?status=any").content.decode()
    assert "Invoice INV-1 missing" in tray
    assert "KYC documents expired" not in tray
    assert ana.get(f"/desk/tickets/{desk['kyc_ticket']['id']}/").status_code == 404
    assert ana.get("/desk/team/").status_code == 403  # the team lead page
    dashboard = ana.get("/desk/dashboard/").content.decode()
    assert "Accounts Payable" in dashboard
    assert "KYC" not in dashboard

    lead = web_client("lead@p2p.example", Role.TEAM_LEAD)
    assert "KYC documents expired" in lead.get("/desk/tray/?status=any").content.decode()


def test_my_queue_and_tray_filters(desk: dict[str, Any], make_ticket: MakeFn) -> None:
    emailed_agent = bootstrap.desk().ticket_queries.get(desk["emailed"], scope=Scope(None))
    assert emailed_agent is not None
    owner = "ana@p2p.example" if emailed_agent.agent == desk["ana"]["id"] else "ben@p2p.example"
    queue = web_client(owner, Role.AGENT).get("/desk/").content.decode()
    assert "Invoice INV-1 missing" in queue

    make_ticket(
        desk["ap"]["id"], subject="PO 4711 approval stuck", priority=1, reference={"type": "po", "id": "4711"}
    )
    lead = web_client("lead@p2p.example", Role.TEAM_LEAD)
    by_reference = lead.get("/desk/tray/?reference=4711").content.decode()
    assert "PO 4711 approval stuck" in by_reference
    assert "Invoice INV-1" not in by_reference
    urgent = lead.get("/desk/tray/?priority=1").content.decode()
    assert "PO 4711 approval stuck" in urgent
    assert "KYC documents" not in urgent
    partial = lead.get("/desk/tray/?priority=1", headers={"HX-Target": "ticket-results"}).content.decode()
    assert partial.startswith('<div id="ticket-results">')
    assert "<html" not in partial
    assert lead.get("/desk/tray/?priority=9").status_code == 200  # shown as a filter error, not a 500
    assert "Some filters are not valid" in lead.get("/desk/tray/?priority=9").content.decode()
    assert "No tickets match" in lead.get("/desk/tray/?status=closed").content.decode()


def test_ticket_page_shows_the_sanitised_thread_and_attachments(desk: dict[str, Any]) -> None:
    ana = web_client("ana@p2p.example", Role.AGENT)
    page = ana.get(f"/desk/tickets/{desk['emailed']}/")
    html = page.content.decode()
    assert "<b>INV-1</b>" in html
    assert "alert(1)" not in html
    assert "t.example/x.gif" not in html
    assert "default-src 'self'" in page["Content-Security-Policy"]
    link = re.search(r'href="(/api/v1/attachments/[^"]+/download/)"[^>]*>INV-1.pdf', html)
    assert link, html
    download = ana.get(link.group(1))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 demo"
    assert "attachment" in download["Content-Disposition"]
    kim = web_client("kim@p2p.example", Role.AGENT)
    assert kim.get(link.group(1)).status_code == 404


def test_reply_goes_out_threaded_once_and_notes_stay_inside(
    desk: dict[str, Any], mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    ana = web_client("ana@p2p.example", Role.AGENT)
    url = f"/desk/tickets/{desk['emailed']}/"
    page = ana.get(url).content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    reply = {"action": "reply", "body": "We found INV-1; payment runs Friday.", "form_token": token}
    with django_capture_on_commit_callbacks(execute=True):
        sent = ana.post(url, reply, follow=True)
        again = ana.post(url, reply, follow=True)  # a double click: not sent twice
    assert "Reply sent to ap@acme.example" in sent.content.decode()
    assert "already sent" in again.content.decode()
    [email] = mailoutbox
    assert email.to == ["ap@acme.example"]
    assert email.extra_headers["In-Reply-To"] == "<web1@acme.example>"
    note = {
        "action": "note",
        "body": "Vendor called too.",
        "form_token": "5f0c1f8e-1111-4c1e-9c1e-123456789abc",
    }
    with django_capture_on_commit_callbacks(execute=True):
        ana.post(url, note)
    assert len(mailoutbox) == 1
    thread = ana.get(url).content.decode()
    assert "payment runs Friday" in thread
    assert "Internal note" in thread
    assert "Vendor called too." in thread

    empty = ana.post(url, {"action": "reply", "body": "  ", "form_token": token}, follow=True)
    assert "Write a message first" in empty.content.decode()


def test_changes_go_through_the_use_case_and_show_in_the_history(desk: dict[str, Any]) -> None:
    ana = web_client("ana@p2p.example", Role.AGENT)
    url = f"/desk/tickets/{desk['emailed']}/"
    changed = ana.post(
        url, {"action": "change", "priority": "1", "status": "open"}, follow=True
    ).content.decode()
    assert "updated" in changed
    resolved = ana.post(url, {"action": "change", "status": "resolved"}, follow=True).content.decode()
    assert 'status-resolved">resolved' in resolved
    history = resolved[resolved.index('id="history-h"') :]
    assert "user:ana@p2p.example" in history
    assert "resolved" in history
    view = bootstrap.desk().ticket_queries.get(desk["emailed"], scope=Scope(None))
    assert view is not None
    assert (view.status, view.priority) == ("resolved", 1)

    illegal = ana.post(url, {"action": "change", "status": "new"}, follow=True)
    assert illegal.status_code == 200
    assert 'class="flash-error"' in illegal.content.decode()
    bad = ana.post(url, {"action": "change", "priority": "9"}, follow=True)
    assert bad.status_code == 200
    assert "not valid: priority" in bad.content.decode()
    moved = ana.post(url, {"action": "change", "team": str(desk["kyc"]["id"])}, follow=True)
    assert moved.redirect_chain[-1][0] == "/desk/tray/"  # out of Ana's teams now
    assert "updated" in moved.content.decode()


def test_csrf_is_enforced(desk: dict[str, Any]) -> None:
    ana = web_client("ana@p2p.example", Role.AGENT, enforce_csrf_checks=True)
    url = f"/desk/tickets/{desk['emailed']}/"
    assert ana.post(url, {"action": "change", "priority": "2"}).status_code == 403
    token = csrf_token(ana.get(url).content.decode())
    accepted = ana.post(url, {"action": "change", "priority": "2", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302


def test_team_lead_marks_an_agent_unavailable_and_sees_the_tickets_move(
    desk: dict[str, Any], make_ticket: MakeFn
) -> None:
    for n in range(4):
        make_ticket(desk["ap"]["id"], subject=f"Payment {n} not processed")
    lead = web_client("lead@p2p.example", Role.TEAM_LEAD)
    page = lead.get("/desk/team/").content.decode()
    assert "Ana Agent" in page
    assert "Ben Backup" in page
    assert "Kim KYC" in page
    held = bootstrap.reports().active_load([desk["ana"]["id"], desk["ben"]["id"]])
    assert sum(held.values()) == 5

    done = lead.post(
        "/desk/team/", {"action": "availability", "agent": desk["ana"]["id"], "available": "0"}, follow=True
    ).content.decode()
    assert "Ana Agent is now unavailable" in done
    assert f"Tickets just moved ({held[desk['ana']['id']]})" in done
    assert bootstrap.reports().active_load([desk["ana"]["id"], desk["ben"]["id"]]) == {desk["ben"]["id"]: 5}
    events = bootstrap.desk().audit_queries.list({"actor": "user:lead@p2p.example"}, cursor=None, limit=50)
    assert any(e.entity_type == "agent" for e in events.results)

    back = lead.post("/desk/team/", {"action": "availability", "agent": desk["ana"]["id"], "available": "1"})
    assert back.status_code == 302
    rebalanced = lead.post("/desk/team/", {"action": "reassign", "agent": desk["ben"]["id"]}, follow=True)
    assert "tickets reassigned" in rebalanced.content.decode()
    assert bootstrap.reports().active_load([desk["ana"]["id"]]) == {desk["ana"]["id"]: 5}
    unknown = lead.post("/desk/team/", {"action": "reassign", "agent": "999999"}, follow=True)
    assert "does not exist" in unknown.content.decode()


def test_dashboard_draws_its_charts(desk: dict[str, Any]) -> None:
    lead = web_client("lead@p2p.example", Role.TEAM_LEAD)
    page = lead.get("/desk/dashboard/").content.decode()
    assert page.count('<svg class="chart"') == 3  # two teams' daily flow, the backlog; no SLA data yet
    assert "1 opened and 0 resolved over 14 days" in page
    assert "No SLA data yet" in page
    assert re.search(r"Accounts Payable: 1 open under 1 day", page)


def test_users_without_a_desk_role_are_turned_away(desk: dict[str, Any]) -> None:
    bootstrap.set_login("bot@p2p.example", Role.INTEGRATION, PASSWORD)
    client = Client()
    client.login(username="bot@p2p.example", password=PASSWORD)
    assert client.get("/desk/").status_code == 403


def test_the_change_form_keeps_an_unavailable_agent_selected(desk: dict[str, Any], admin: APIClient) -> None:
    ana = web_client("ana@p2p.example", Role.AGENT)
    url = f"/desk/tickets/{desk['emailed']}/"
    ana.post(url, {"action": "change", "agent": str(desk["ana"]["id"])})
    ana.post(url, {"action": "change", "status": "resolved"})
    assert (
        admin.patch(f"/api/v1/agents/{desk['ana']['id']}/", {"is_active": False}, format="json").status_code
        == 200
    )
    lead = web_client("lead@p2p.example", Role.TEAM_LEAD)
    page = lead.get(url).content.decode()
    assert re.search(
        rf'<option value="{desk["ana"]["id"]}" selected>Ana Agent \(unavailable\)</option>', page
    )
    lead.post(
        url,
        {
            "action": "change",
            "status": "resolved",
            "priority": "2",
            "team": desk["ap"]["id"],
            "agent": desk["ana"]["id"],
        },
    )
    view = bootstrap.desk().ticket_queries.get(desk["emailed"], scope=Scope(None))
    assert view is not None
    assert (view.agent, view.priority) == (desk["ana"]["id"], 2)


def test_sla_badge_and_filter() -> None:
    from datetime import timedelta
    from types import SimpleNamespace

    from django.template.loader import render_to_string
    from django.utils import timezone

    from p2pdesk.infrastructure.web import forms
    from p2pdesk.infrastructure.web.sla import sla_badge

    now = timezone.now()
    at_risk = SimpleNamespace(
        sla_state="at_risk", first_response_due=now + timedelta(minutes=90), resolution_due=None
    )
    html = render_to_string("web/_sla_badge.html", {"badge": sla_badge(at_risk, now)})
    assert 'class="sla sla-at_risk"' in html
    assert "At risk · 1h 30m left" in html
    assert render_to_string("web/_sla_badge.html", {"badge": sla_badge(SimpleNamespace(), now)}).strip() == ""

    form = forms.TicketFilterForm({"sla_state": "breached"})
    assert form.is_valid()
    assert form.ticket_filters()["sla_state"] == "breached"
    assert not forms.TicketFilterForm({"sla_state": "late"}).is_valid()
