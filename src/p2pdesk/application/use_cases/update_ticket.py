"""Change a ticket's status, priority, team or agent, keeping assignment and counters right."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from p2pdesk.application.assigning import assign_next
from p2pdesk.application.audit import record_changes
from p2pdesk.application.errors import NotFound, ValidationFailed
from p2pdesk.application.lookups import available_agent_in_team, live_team, team_taking_tickets
from p2pdesk.application.misroutes import note_misroutes
from p2pdesk.application.principal import Principal
from p2pdesk.application.sla import SlaLookup, follow_status
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.application.views import ticket_view
from p2pdesk.domain.errors import InvalidValue
from p2pdesk.domain.teams import Team
from p2pdesk.domain.tickets import Priority, Ticket, TicketStatus
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.queries import TicketView
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

UNSET: object = object()


@dataclass(frozen=True)
class TicketChanges:
    """The fields to change; anything left UNSET stays as it is. `agent_id=None` unassigns."""

    status: str | object = UNSET
    priority: int | object = UNSET
    team_id: int | object = UNSET
    agent_id: int | object | None = UNSET

    def parsed_status(self) -> TicketStatus | None:
        if self.status is UNSET:
            return None
        try:
            return TicketStatus(str(self.status))
        except ValueError:
            allowed = ", ".join(s.value for s in TicketStatus)
            raise InvalidValue(f"status must be one of {allowed}") from None

    def parsed_priority(self) -> Priority | None:
        return None if self.priority is UNSET else Priority.parse(self.priority)


@dataclass(frozen=True)
class UpdateTicket:
    ticket_id: uuid.UUID
    changes: TicketChanges


def apply_changes(
    uow: UnitOfWork,
    ticket: Ticket,
    changes: TicketChanges,
    principal: Principal,
    *,
    at: datetime,
    teams: dict[int, Team] | None = None,
    sla: SlaLookup | None = None,
) -> int | None:
    """Apply one ticket's changes in the order that keeps the rules: team, agent, priority, status.

    The caller has locked the ticket's current and target teams. Returns the agent to credit with a
    resolution, for the caller to count once for all its tickets (one counter UPDATE per agent, in
    agent order, rather than one per ticket). `teams` and `sla` memoise lookups across many tickets.
    """
    teams = {} if teams is None else teams

    def team_of(team_id: int, lookup: Callable[[UnitOfWork, int], Team]) -> Team:
        if team_id not in teams:
            teams[team_id] = lookup(uow, team_id)
        return teams[team_id]

    principal.require_ticket_writer()
    principal.require_team_access(ticket.team_id)
    status = changes.parsed_status()
    priority = changes.parsed_priority()

    moved = False
    if changes.team_id is not UNSET:
        assert isinstance(changes.team_id, int)
        target = team_of(changes.team_id, team_taking_tickets)
        moved = ticket.move_to_team(changes.team_id, at=at)
    team = team_of(ticket.team_id, live_team)

    if changes.agent_id is not UNSET:
        if changes.agent_id is None:
            ticket.unassign(at=at, reason="unassigned by " + principal.actor)
        else:
            assert isinstance(changes.agent_id, int)
            agent = available_agent_in_team(uow, changes.agent_id, team)
            assert agent.id is not None
            if uow.assignment.lock_and_reload(team.id or 0, agent.id, day_start=at) is None:
                raise ValidationFailed(f"agent {agent.email} is not available", details={"field": "agent"})
            if ticket.assign(agent.id, at=at, reason="assigned by " + principal.actor):
                uow.assignment.record_assignments({agent.id: 1}, at=at)
    elif moved and ticket.is_active:
        assign_next(uow, ticket, target, at=at, reason="moved to team")

    if priority is not None:
        ticket.change_priority(priority, at=at)

    resolved_by = None
    if status is not None and ticket.change_status(status, at=at):
        if status == TicketStatus.RESOLVED:
            resolved_by = ticket.agent_id
        if ticket.is_active and ticket.agent_id is None and changes.agent_id is UNSET:
            assign_next(uow, ticket, team, at=at, reason="reopened")
    follow_status(uow, ticket, at=at, lookup=sla)
    return resolved_by


def teams_touched(ticket_team: int, changes: TicketChanges) -> list[int]:
    teams = {ticket_team}
    if isinstance(changes.team_id, int):
        teams.add(changes.team_id)
    return sorted(teams)


class UpdateTicketHandler:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    def __call__(self, command: UpdateTicket, principal: Principal) -> TicketView:
        return run_in_transaction(self._uow_factory, lambda uow: self._update(uow, command, principal))

    def _update(self, uow: UnitOfWork, command: UpdateTicket, principal: Principal) -> TicketView:
        peek = uow.tickets.get(command.ticket_id)
        if peek is None or (
            principal.scope.team_ids is not None and peek.team_id not in principal.scope.team_ids
        ):
            raise NotFound(f"ticket {command.ticket_id} does not exist")
        # Team locks before the row lock, the order every assignment path takes (no deadlocks).
        uow.assignment.lock_teams(teams_touched(peek.team_id, command.changes))
        ticket = uow.tickets.get(command.ticket_id, for_update=True)
        assert ticket is not None
        at = self._clock.now()
        resolved_by = apply_changes(uow, ticket, command.changes, principal, at=at)
        note_misroutes(uow, [(ticket.id, peek.team_id, ticket.team_id)], at=at)
        if resolved_by is not None:
            uow.assignment.record_resolutions({resolved_by: 1}, at=at)
        uow.tickets.save(ticket)
        record_changes(uow, principal, at, [ticket])
        return ticket_view(ticket)
