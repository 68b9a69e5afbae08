"""The ticket page: thread, attachments, notes, reply by email, changes and the audit history."""

from __future__ import annotations

import uuid
from typing import Any

import nh3
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.safestring import mark_safe

from p2pdesk import bootstrap
from p2pdesk.application.errors import NotFound
from p2pdesk.application.principal import Principal
from p2pdesk.application.use_cases.post_ticket_message import PostTicketMessage
from p2pdesk.application.use_cases.update_ticket import UNSET, TicketChanges, UpdateTicket
from p2pdesk.infrastructure.web.access import desk_view
from p2pdesk.infrastructure.web.directory import agents_of_team, desk_page, live_teams
from p2pdesk.infrastructure.web.forms import ChangeForm, ReplyForm
from p2pdesk.infrastructure.web.sla import sla_badge
from p2pdesk.ports.queries import MessageView, TicketView

# Intake already sanitises HTML; cleaning again at display keeps older rows safe too, and dropping
# images means opening a ticket never fetches a sender's tracking pixel.
_DISPLAY_TAGS = nh3.ALLOWED_TAGS - {"img"}
_SENT_FORMS = "web_sent_forms"  # session key: tokens of reply forms already handled
_SENT_FORMS_KEPT = 50


def safe_html(html: str) -> str:
    return mark_safe(nh3.clean(html, tags=_DISPLAY_TAGS))  # noqa: S308 - cleaned by nh3 right here


@desk_view
def ticket_page(request: HttpRequest, principal: Principal, ticket_id: uuid.UUID) -> HttpResponse:
    desk = bootstrap.desk()
    ticket = desk.ticket_queries.get(ticket_id, scope=principal.scope)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    teams = [(t.id, t.name) for t in live_teams()]
    # Available agents to pick from, plus the current one whatever their state, so saving other
    # changes never unassigns the ticket by accident.
    agents = [
        (a.id, a.name if a.is_active else f"{a.name} (unavailable)")
        for a in agents_of_team(ticket.team)
        if a.is_active or a.id == ticket.agent
    ]
    if ticket.agent is not None and ticket.agent not in dict(agents):
        name = bootstrap.reports().agent_names([ticket.agent]).get(ticket.agent, f"agent {ticket.agent}")
        agents.append((ticket.agent, f"{name} (not in this team)"))
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("reply", "note"):
            _post_message(request, principal, ticket, internal=action == "note")
        elif action == "change":
            _change(request, principal, ticket, teams, agents)
        else:
            messages.error(request, "Unknown action.")
        if desk.ticket_queries.get(ticket_id, scope=principal.scope) is None:
            return redirect("web:team-tray")  # moved to a team this agent does not serve
        return redirect(request.get_full_path())
    return _render(request, principal, ticket, teams, agents)


def _post_message(request: HttpRequest, principal: Principal, ticket: TicketView, *, internal: bool) -> None:
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write a message first (at most 100,000 characters).")
        return
    token = str(form.cleaned_data["form_token"])
    sent: list[str] = request.session.get(_SENT_FORMS, [])
    if token in sent:
        messages.info(request, "That message was already sent.")
        return
    bootstrap.desk().post_ticket_message(
        PostTicketMessage(ticket_id=ticket.id, body=form.cleaned_data["body"], internal=internal), principal
    )
    request.session[_SENT_FORMS] = [*sent, token][-_SENT_FORMS_KEPT:]
    messages.success(
        request, "Internal note added." if internal else f"Reply sent to {ticket.requester_email}."
    )


def _change(
    request: HttpRequest,
    principal: Principal,
    ticket: TicketView,
    teams: list[tuple[int, str]],
    agents: list[tuple[int, str]],
) -> None:
    form = ChangeForm(request.POST, teams=teams, agents=agents)
    if not form.is_valid():
        messages.error(request, "Those changes are not valid: " + ", ".join(sorted(form.errors)) + ".")
        return
    data, posted = form.cleaned_data, request.POST

    def changed(field: str, current: Any) -> Any:
        return data[field] if field in posted and data[field] != current else UNSET

    team = changed("team", ticket.team)
    changes = TicketChanges(
        status=changed("status", ticket.status) if data.get("status") else UNSET,
        priority=changed("priority", ticket.priority) if data.get("priority") else UNSET,
        team_id=team,
        # A ticket moving team is assigned in its new team; the old team's agent list does not apply.
        agent_id=changed("agent", ticket.agent) if team is UNSET else UNSET,
    )
    if all(v is UNSET for v in (changes.status, changes.priority, changes.team_id, changes.agent_id)):
        messages.info(request, "Nothing to change.")
        return
    bootstrap.desk().update_ticket(UpdateTicket(ticket_id=ticket.id, changes=changes), principal)
    messages.success(request, f"{ticket.number} updated.")


def _render(
    request: HttpRequest,
    principal: Principal,
    ticket: TicketView,
    teams: list[tuple[int, str]],
    agents: list[tuple[int, str]],
) -> HttpResponse:
    desk = bootstrap.desk()
    thread: list[MessageView] = desk.intake_queries.thread(ticket.id, scope=principal.scope) or []
    history = desk.audit_queries.list(
        {"entity_type": "ticket", "entity_id": str(ticket.id)}, cursor=None, limit=100
    ).results
    names = dict(teams)
    agent_names = bootstrap.reports().agent_names([ticket.agent] if ticket.agent else [])
    change_form = ChangeForm(
        initial={
            "status": ticket.status,
            "priority": ticket.priority,
            "team": ticket.team,
            "agent": ticket.agent,
        },
        teams=teams,
        agents=agents,
    )
    return desk_page(
        request,
        principal,
        "web/ticket.html",
        {
            "ticket": ticket,
            "team_name": names.get(ticket.team, f"team {ticket.team}"),
            "agent_name": agent_names.get(ticket.agent, "") if ticket.agent else "",
            "sla": sla_badge(ticket, timezone.now()),
            "thread": [(m, safe_html(m.html) if m.html else None) for m in thread],
            "history": [(e, [(k, e.before.get(k), v) for k, v in e.after.items()]) for e in history],
            "change_form": change_form,
            "reply_form": ReplyForm(initial={"form_token": uuid.uuid4()}),
            "can_resolve": ticket.status in ("new", "open", "pending"),
        },
    )
