"""The team lead's page: each agent's load and availability, and moving their tickets.

Marking an agent unavailable runs the same use case as the API (their active tickets are handed to
the team's other available agents in that transaction); the page then lists where each ticket went.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from p2pdesk import bootstrap
from p2pdesk.application.principal import Principal
from p2pdesk.application.use_cases.manage_agents import UpdateAgent
from p2pdesk.application.use_cases.reassign_tickets import ReassignTickets
from p2pdesk.infrastructure.web.access import desk_view
from p2pdesk.infrastructure.web.directory import agents_of_team, desk_page, live_teams
from p2pdesk.infrastructure.web.forms import ACTIVE, AgentActionForm
from p2pdesk.ports.queries import AgentView, Scope, TeamView

_MOVES = "web_lead_moves"  # session key: the tickets the last action moved, shown once
MOVES_SHOWN = 200


@dataclass(frozen=True)
class AgentLoad:
    agent: AgentView
    active_tickets: int


@dataclass(frozen=True)
class TeamLoad:
    team: TeamView
    agents: list[AgentLoad]


def _lead_teams(principal: Principal) -> list[TeamView]:
    """A team lead's own teams first; admins (and leads of no team) see every team."""
    teams = live_teams()
    own = [t for t in teams if t.id in principal.team_ids]
    return own or teams


@desk_view
def team_page(request: HttpRequest, principal: Principal) -> HttpResponse:
    principal.require_directory_admin()
    if request.method == "POST":
        _act(request, principal)
        return redirect(request.get_full_path())
    teams = _lead_teams(principal)
    loads = []
    for team in teams:
        agents = agents_of_team(team.id)
        load = bootstrap.reports().active_load([a.id for a in agents])
        loads.append(TeamLoad(team, [AgentLoad(a, load.get(a.id, 0)) for a in agents]))
    return desk_page(
        request,
        principal,
        "web/team.html",
        {"nav": "team", "teams": loads, "moves": request.session.pop(_MOVES, [])},
    )


def _act(request: HttpRequest, principal: Principal) -> None:
    form = AgentActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick an agent first.")
        return
    agent_id = form.cleaned_data["agent"]
    agent = bootstrap.desk().agent_queries.get(agent_id)
    if agent is None:
        messages.error(request, f"Agent {agent_id} does not exist.")
        return
    held = _active_tickets_of(agent_id)
    action = request.POST.get("action")
    if action == "availability":
        available = form.cleaned_data["available"]
        bootstrap.desk().agents.update(UpdateAgent(agent_id=agent_id, is_active=available), principal)
        verb = "available" if available else "unavailable"
        messages.success(request, f"{agent.name} is now {verb}.")
    elif action == "reassign":
        result = bootstrap.desk().reassign_tickets(ReassignTickets(agent_ids=[agent_id]), principal)
        messages.success(request, f"{result.moved} of {agent.name}'s tickets reassigned.")
    else:
        messages.error(request, "Unknown action.")
        return
    request.session[_MOVES] = _moves(held, agent_id, agent.name)


def _active_tickets_of(agent_id: int) -> list[tuple[str, str, str]]:
    page = bootstrap.desk().ticket_queries.list(
        {"agent": str(agent_id), "status": ACTIVE}, scope=Scope(None), cursor=None, limit=MOVES_SHOWN
    )
    return [(str(t.id), t.number, t.subject) for t in page.results]


def _moves(held: list[tuple[str, str, str]], from_id: int, from_name: str) -> list[dict[str, str]]:
    """Where each ticket the agent held went, read back after the change committed."""
    queries = bootstrap.desk().ticket_queries
    now = {t: queries.get(uuid.UUID(t), scope=Scope(None)) for t, _, _ in held}
    names = bootstrap.reports().agent_names(sorted({v.agent for v in now.values() if v and v.agent}))
    moves = []
    for ticket_id, number, subject in held:
        view = now[ticket_id]
        if view is None:
            continue
        to = names.get(view.agent, "") if view.agent else "unassigned (team backlog)"
        if view.agent != from_id:
            moves.append({"id": ticket_id, "number": number, "subject": subject, "from": from_name, "to": to})
    return moves
