"""Names and memberships the desk's pages show, read through the composition root."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from p2pdesk import bootstrap
from p2pdesk.application.principal import Principal, Role
from p2pdesk.ports.queries import AgentView, TeamView


def live_teams() -> list[TeamView]:
    teams, cursor = [], None
    while True:
        page = bootstrap.desk().team_queries.list(cursor=cursor, limit=200)
        teams.extend(page.results)
        if page.next_cursor is None:
            return teams
        cursor = page.next_cursor


def visible_teams(principal: Principal) -> list[TeamView]:
    """The teams whose tickets this person sees: an agent's own, everyone else all of them."""
    visible = principal.scope.team_ids
    return [t for t in live_teams() if visible is None or t.id in visible]


def agents_of_team(team_id: int) -> list[AgentView]:
    agents, cursor = [], None
    while True:
        page = bootstrap.desk().agent_queries.list({"team": str(team_id)}, cursor=cursor, limit=200)
        agents.extend(page.results)
        if page.next_cursor is None:
            return sorted(agents, key=lambda a: a.name.lower())
        cursor = page.next_cursor


def agent_of_user(email: str) -> AgentView | None:
    page = bootstrap.desk().agent_queries.list({"email": email}, cursor=None, limit=1)
    return page.results[0] if page.results else None


def is_lead(principal: Principal) -> bool:
    return principal.role in (Role.ADMIN, Role.TEAM_LEAD)


def desk_page(
    request: HttpRequest, principal: Principal, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    base = {"principal": principal, "is_lead": is_lead(principal)}
    return render(request, template, {**base, **context}, status=status)
