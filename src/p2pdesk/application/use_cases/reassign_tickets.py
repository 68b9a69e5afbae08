"""Hand the active tickets of some agents to their teams' other available agents."""

from __future__ import annotations

from dataclasses import dataclass

from p2pdesk.application.assigning import redistribute_from_agents
from p2pdesk.application.audit import record_events
from p2pdesk.application.errors import ValidationFailed
from p2pdesk.application.principal import Principal
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class ReassignTickets:
    agent_ids: list[int]


@dataclass(frozen=True)
class ReassignResult:
    moved: int
    unassigned: int  # tickets left for the backlog because their team had nobody else available
    received: dict[int, int]  # receiving agent id -> tickets received


class ReassignTicketsHandler:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    def __call__(self, command: ReassignTickets, principal: Principal) -> ReassignResult:
        principal.require_directory_admin()
        if not command.agent_ids:
            raise ValidationFailed("agents must list at least one agent id", details={"field": "agents"})
        return run_in_transaction(self._uow_factory, lambda uow: self._reassign(uow, command, principal))

    def _reassign(self, uow: UnitOfWork, command: ReassignTickets, principal: Principal) -> ReassignResult:
        agent_ids = sorted(set(command.agent_ids))
        agents = uow.agents.get_many(agent_ids)
        unknown = sorted(set(agent_ids) - {a.id for a in agents})
        if unknown:
            raise ValidationFailed(f"unknown agent ids: {unknown}", details={"field": "agents"})
        held = uow.tickets.teams_with_active_tickets(agent_ids)  # teams they may have left since
        teams = sorted({team for agent in agents for team in agent.team_ids} | held)
        uow.assignment.lock_teams(teams)
        at = self._clock.now()
        received, events = redistribute_from_agents(uow, agent_ids, at=at, reason="reassigned")
        record_events(uow, principal, at, events)
        moved = sum(received.values())
        return ReassignResult(moved=moved, unassigned=len(events) - moved, received=dict(received))
