"""Loading entities a use case refers to, with the not-found and availability errors callers expect."""

from __future__ import annotations

from p2pdesk.application.errors import NotFound, ValidationFailed
from p2pdesk.domain.agents import Agent
from p2pdesk.domain.teams import Team
from p2pdesk.ports.unit_of_work import UnitOfWork


def live_team(uow: UnitOfWork, team_id: int) -> Team:
    team = uow.teams.get(team_id)
    if team is None or team.is_deleted:
        raise NotFound(f"team {team_id} does not exist", details={"field": "team"})
    return team


def team_taking_tickets(uow: UnitOfWork, team_id: int) -> Team:
    team = uow.teams.get(team_id)
    if team is None or team.is_deleted:
        raise ValidationFailed(f"team {team_id} does not exist", details={"field": "team"})
    team.ensure_accepts_tickets()
    return team


def available_agent_in_team(uow: UnitOfWork, agent_id: int, team: Team) -> Agent:
    agent = uow.agents.get(agent_id)
    if agent is None or agent.is_deleted:
        raise ValidationFailed(f"agent {agent_id} does not exist", details={"field": "agent"})
    if not agent.is_active:
        raise ValidationFailed(f"agent {agent.email} is not active", details={"field": "agent"})
    if team.id not in agent.team_ids:
        raise ValidationFailed(
            f"agent {agent.email} is not a member of team {team.name!r}", details={"field": "agent"}
        )
    return agent
