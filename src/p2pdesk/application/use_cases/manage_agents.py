"""Create, change and (softly) delete agents; their tickets follow their availability.

An agent who stops being available (deactivated or deleted) hands every active ticket to the other
agents of each ticket's team; leaving a team hands over that team's tickets. An agent who becomes
available, or joins a team, lets the team's unassigned backlog drain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from p2pdesk.application.assigning import drain_backlog, redistribute_from_agents
from p2pdesk.application.audit import record_changes, record_events
from p2pdesk.application.errors import Conflict, NotFound, TransientConflict, ValidationFailed
from p2pdesk.application.principal import Principal
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.domain.agents import Agent, normalise_email
from p2pdesk.domain.events import DomainEvent
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class CreateAgent:
    email: str
    name: str
    team_ids: list[int]
    is_active: bool = True


@dataclass(frozen=True)
class UpdateAgent:
    agent_id: int
    email: str | None = None
    name: str | None = None
    team_ids: list[int] | None = None
    is_active: bool | None = None


def _check_teams(uow: UnitOfWork, team_ids: list[int]) -> frozenset[int]:
    wanted = frozenset(team_ids)
    live = {t.id for t in uow.teams.get_many(sorted(wanted)) if not t.is_deleted}
    unknown = sorted(wanted - live)
    if unknown:
        raise ValidationFailed(f"unknown teams: {unknown}", details={"field": "teams"})
    return wanted


def _ensure_email_free(uow: UnitOfWork, email: str, exclude_id: int | None = None) -> None:
    if uow.agents.live_email_taken(email, exclude_id=exclude_id):
        raise Conflict(f"an agent with email {email} already exists", details={"field": "email"})


class AgentHandlers:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    def create(self, command: CreateAgent, principal: Principal) -> int:
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> int:
            team_ids = frozenset(command.team_ids)
            uow.assignment.lock_teams(sorted(team_ids))
            agent = Agent.create(
                email=command.email,
                name=command.name,
                team_ids=_check_teams(uow, command.team_ids),
                is_active=command.is_active,
            )
            _ensure_email_free(uow, agent.email)
            uow.agents.add(agent)
            agent.record_created()
            uow.assignment.sync_membership(agent)
            at = self._clock.now()
            record_changes(uow, principal, at, [agent])
            if agent.is_available:
                record_events(uow, principal, at, self._drain(uow, agent.team_ids, at))
            assert agent.id is not None
            return agent.id

        return run_in_transaction(self._uow_factory, work)

    def update(self, command: UpdateAgent, principal: Principal) -> None:
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> None:
            peek = self._live_agent(uow, command.agent_id)
            new_teams = frozenset(command.team_ids) if command.team_ids is not None else peek.team_ids
            locked = sorted(peek.team_ids | new_teams | self._held_teams(uow, peek))
            uow.assignment.lock_teams(locked)
            agent = self._live_agent(uow, command.agent_id, for_update=True)
            if not (agent.team_ids | new_teams) <= set(locked):
                raise TransientConflict("agent's teams changed while locking; run again")
            if command.email is not None:
                _ensure_email_free(uow, normalise_email(command.email), exclude_id=agent.id)
            was_available, old_teams = agent.is_available, agent.team_ids
            agent.update(
                email=command.email,
                name=command.name,
                team_ids=_check_teams(uow, command.team_ids) if command.team_ids is not None else None,
                is_active=command.is_active,
            )
            if not agent.has_changes:
                return
            uow.agents.save(agent)
            uow.assignment.sync_membership(agent)
            at = self._clock.now()
            record_changes(uow, principal, at, [agent])
            events = self._follow_availability(uow, agent, was_available, old_teams, at)
            record_events(uow, principal, at, events)

        run_in_transaction(self._uow_factory, work)

    def delete(self, agent_id: int, principal: Principal) -> None:
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> None:
            peek = self._live_agent(uow, agent_id)
            uow.assignment.lock_teams(sorted(peek.team_ids | self._held_teams(uow, peek)))
            agent = self._live_agent(uow, agent_id, for_update=True)
            was_available = agent.is_available
            at = self._clock.now()
            agent.delete(at=at)
            uow.agents.save(agent)
            uow.assignment.sync_membership(agent)
            record_changes(uow, principal, at, [agent])
            events = self._follow_availability(uow, agent, was_available, agent.team_ids, at)
            record_events(uow, principal, at, events)

        run_in_transaction(self._uow_factory, work)

    def _follow_availability(
        self, uow: UnitOfWork, agent: Agent, was_available: bool, old_teams: frozenset[int], at: datetime
    ) -> list[DomainEvent]:
        assert agent.id is not None
        if was_available and not agent.is_available:
            _, events = redistribute_from_agents(uow, [agent.id], at=at, reason="agent unavailable")
            return events
        events = []
        left = old_teams - agent.team_ids
        if left:
            _, events = redistribute_from_agents(
                uow, [agent.id], at=at, reason="agent left team", team_ids=left
            )
        if agent.is_available:
            joined = agent.team_ids if not was_available else agent.team_ids - old_teams
            events.extend(self._drain(uow, joined, at))
        return events

    @staticmethod
    def _drain(uow: UnitOfWork, team_ids: frozenset[int], at: datetime) -> list[DomainEvent]:
        return [e for team in uow.teams.get_many(sorted(team_ids)) for e in drain_backlog(uow, team, at=at)]

    @staticmethod
    def _held_teams(uow: UnitOfWork, agent: Agent) -> set[int]:
        """Teams of the active tickets the agent holds, including teams the agent has left."""
        assert agent.id is not None
        return uow.tickets.teams_with_active_tickets([agent.id])

    @staticmethod
    def _live_agent(uow: UnitOfWork, agent_id: int, *, for_update: bool = False) -> Agent:
        agent = uow.agents.get(agent_id, for_update=for_update)
        if agent is None or agent.is_deleted:
            raise NotFound(f"agent {agent_id} does not exist")
        return agent
