"""Opening a ticket: number, fair assignment under the team lock. Shared by the API and mail intake."""

from __future__ import annotations

from datetime import datetime

from p2pdesk.application.assigning import assign_next
from p2pdesk.application.errors import ValidationFailed
from p2pdesk.application.lookups import available_agent_in_team
from p2pdesk.application.sla import start_sla
from p2pdesk.domain.teams import Team
from p2pdesk.domain.tickets import Priority, Reference, Ticket, TicketSource
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.unit_of_work import UnitOfWork


def open_ticket(
    uow: UnitOfWork,
    clock: Clock,
    team: Team,
    *,
    subject: str,
    description: str,
    requester_email: str,
    priority: Priority,
    source: TicketSource,
    reference: Reference | None,
    agent_id: int | None = None,
) -> tuple[Ticket, datetime]:
    """Create and assign a ticket (not yet added to the repository); returns it and the decision time."""
    assert team.id is not None
    team.ensure_accepts_tickets()
    ticket = Ticket.open_new(
        number=uow.tickets.next_number(),
        subject=subject,
        description=description,
        team_id=team.id,
        priority=priority,
        requester_email=requester_email,
        source=source,
        reference=reference,
        at=clock.now(),
    )
    start_sla(uow, ticket)
    # The team lock is held until commit: take it only once the rest is ready.
    uow.assignment.lock_teams([team.id])
    at = clock.now()
    if agent_id is not None:
        agent = available_agent_in_team(uow, agent_id, team)
        assert agent.id is not None
        if uow.assignment.lock_and_reload(team.id, agent.id, day_start=at) is None:
            raise ValidationFailed(f"agent {agent.email} is not available", details={"field": "agent"})
        ticket.assign(agent.id, at=at, reason="chosen by requester")
        uow.assignment.record_assignments({agent.id: 1}, at=at)
    else:
        assign_next(uow, ticket, team, at=at, reason="least assigned today")
    return ticket, at
