"""Assignment, redistribution and backlog draining, shared by the use cases that move tickets.

The fairness rule itself lives in domain.assignment; this module applies it through the
AssignmentPool port under the team locks that keep concurrent workers from deciding on stale loads.
Callers must have locked the teams involved (`uow.assignment.lock_teams`) before calling in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from p2pdesk.application.errors import TransientConflict
from p2pdesk.domain.assignment import AgentLoad, choose_agent, plan_distribution
from p2pdesk.domain.business_day import start_of_business_day
from p2pdesk.domain.events import DomainEvent
from p2pdesk.domain.teams import Team
from p2pdesk.domain.tickets import Ticket, assignment_event
from p2pdesk.ports.repositories import ActiveTicketRef
from p2pdesk.ports.unit_of_work import UnitOfWork

# How often to re-pick when the chosen agent's load changed between reading and locking it
# (another team's worker assigned them meanwhile). Past that the whole transaction runs again
# rather than act on a load it knows is stale.
_REPICKS = 5


def pick_agent(uow: UnitOfWork, team: Team, *, at: datetime) -> AgentLoad | None:
    """Lock and return the fairest available agent of the team, with a load read under the lock."""
    assert team.id is not None
    day_start = start_of_business_day(team.timezone, at)
    pool = uow.assignment
    for _ in range(_REPICKS):
        chosen = choose_agent(pool.best_candidates(team.id, day_start=day_start))
        if chosen is None:
            return None
        fresh = pool.lock_and_reload(team.id, chosen.agent_id, day_start=day_start)
        if fresh == chosen:
            return chosen
    raise TransientConflict(f"agent loads in team {team.id} kept changing while picking")


def assign_next(uow: UnitOfWork, ticket: Ticket, team: Team, *, at: datetime, reason: str) -> bool:
    """Give an active ticket to the team's fairest agent; leave it unassigned if nobody is available."""
    load = pick_agent(uow, team, at=at)
    if load is None:
        ticket.unassign(at=at, reason="no available agent in team")
        return False
    if ticket.assign(load.agent_id, at=at, reason=reason):
        uow.assignment.record_assignments({load.agent_id: 1}, at=at)
    return True


def distribute(
    uow: UnitOfWork,
    refs: Sequence[ActiveTicketRef],
    team: Team,
    *,
    at: datetime,
    reason: str,
    excluded_agents: Collection[int] = (),
) -> tuple[Counter[int], list[DomainEvent]]:
    """Deal tickets of one team to its available agents, least-loaded first.

    Returns how many each agent received, and the assignment events to audit. With no agent
    available the tickets are left unassigned, for the backlog to be drained later.
    """
    assert team.id is not None
    if not refs:
        return Counter(), []
    day_start = start_of_business_day(team.timezone, at)
    loads = [
        load
        for load in uow.assignment.loads(team.id, day_start=day_start)
        if load.agent_id not in excluded_agents
    ]
    plan = plan_distribution(refs, loads, at=at)
    changes: list[tuple[ActiveTicketRef, int | None]] = list(plan)
    if not loads:
        changes = [(ref, None) for ref in refs]
    changes = [(ref, agent) for ref, agent in changes if ref.agent_id != agent]
    uow.tickets.reassign_bulk([(ref.id, agent) for ref, agent in changes], at=at)
    received = Counter(agent for _, agent in changes if agent is not None)
    uow.assignment.record_assignments(received, at=at)
    events = [assignment_event(ref.id, team.id, ref.agent_id, agent, reason) for ref, agent in changes]
    return received, events


def redistribute_from_agents(
    uow: UnitOfWork,
    agent_ids: Collection[int],
    *,
    at: datetime,
    reason: str,
    team_ids: Collection[int] | None = None,
) -> tuple[Counter[int], list[DomainEvent]]:
    """Move the active tickets these agents hold to other agents of each ticket's team.

    `team_ids` limits it to tickets of those teams (an agent leaving some teams keeps the rest).
    """
    refs = uow.tickets.active_of_agents(sorted(agent_ids))
    by_team: dict[int, list[ActiveTicketRef]] = defaultdict(list)
    for ref in refs:
        if team_ids is None or ref.team_id in team_ids:
            by_team[ref.team_id].append(ref)
    received: Counter[int] = Counter()
    events: list[DomainEvent] = []
    teams = {t.id: t for t in uow.teams.get_many(sorted(by_team))}
    for team_id in sorted(by_team):
        team_received, team_events = distribute(
            uow, by_team[team_id], teams[team_id], at=at, reason=reason, excluded_agents=agent_ids
        )
        received.update(team_received)
        events.extend(team_events)
    return received, events


def drain_backlog(uow: UnitOfWork, team: Team, *, at: datetime) -> list[DomainEvent]:
    """Assign a team's unassigned active tickets, most urgent and oldest first."""
    if not team.accepts_tickets:
        return []
    assert team.id is not None
    backlog = uow.tickets.unassigned_backlog(team.id)
    _, events = distribute(uow, backlog, team, at=at, reason="backlog drained")
    return events
