"""My queue and the team tray: filtered ticket lists, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from p2pdesk import bootstrap
from p2pdesk.application.principal import Principal
from p2pdesk.infrastructure.web.access import desk_view, user_email
from p2pdesk.infrastructure.web.directory import agent_of_user, desk_page, visible_teams
from p2pdesk.infrastructure.web.forms import TicketFilterForm
from p2pdesk.infrastructure.web.sla import SlaBadge, sla_badge
from p2pdesk.ports.queries import TicketView

PAGE_SIZE = 50


@dataclass(frozen=True)
class TicketRow:
    ticket: TicketView
    team: str
    agent: str
    sla: SlaBadge | None


@desk_view
def my_queue(request: HttpRequest, principal: Principal) -> HttpResponse:
    agent = agent_of_user(user_email(request))
    fixed = {"agent": str(agent.id)} if agent is not None else None
    return _ticket_list(request, principal, title="My queue", fixed=fixed, tray=False)


@desk_view
def team_tray(request: HttpRequest, principal: Principal) -> HttpResponse:
    return _ticket_list(request, principal, title="Team tray", fixed={}, tray=True)


def _ticket_list(
    request: HttpRequest, principal: Principal, *, title: str, fixed: dict[str, str] | None, tray: bool
) -> HttpResponse:
    teams = visible_teams(principal)
    team_names = {t.id: t.name for t in teams}
    form = TicketFilterForm(request.GET, teams=list(team_names.items()))
    rows: list[TicketRow] = []
    next_cursor = None
    if form.is_valid() and fixed is not None:
        page = bootstrap.desk().ticket_queries.list(
            form.ticket_filters(**fixed),
            scope=principal.scope,
            cursor=form.cleaned_data["cursor"] or None,
            limit=PAGE_SIZE,
        )
        names = bootstrap.reports().agent_names(sorted({t.agent for t in page.results if t.agent}))
        now = timezone.now()
        rows = [
            TicketRow(
                ticket=t,
                team=team_names.get(t.team, f"team {t.team}"),
                agent=names.get(t.agent, "") if t.agent else "",
                sla=sla_badge(t, now),
            )
            for t in page.results
        ]
        next_cursor = page.next_cursor
    next_query = None
    if next_cursor:
        query = request.GET.copy()
        query["cursor"] = next_cursor
        next_query = query.urlencode()
    partial = request.headers.get("HX-Target") == "ticket-results"
    return desk_page(
        request,
        principal,
        "web/_ticket_results.html" if partial else "web/ticket_list.html",
        {
            "title": title,
            "tray": tray,
            "nav": "tray" if tray else "queue",
            "form": form,
            "rows": rows,
            "not_an_agent": fixed is None,
            "next_query": next_query,
        },
    )
