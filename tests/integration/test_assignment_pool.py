"""The Django assignment pool against the domain rule, on the real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.domain.assignment import choose_agent
from p2pdesk.domain.business_day import start_of_business_day
from p2pdesk.infrastructure.persistence.assignment_pool import DjangoAssignmentPool
from p2pdesk.infrastructure.persistence.models import NEVER_ASSIGNED, AgentRecord, MembershipRecord

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def make_team(name: str, timezone: str = "UTC", agents: int = 0) -> tuple[int, list[int]]:
    desk = bootstrap.desk()
    team_id = desk.teams.create(CreateTeam(name=name, timezone=timezone), SYSTEM)
    ids = [
        desk.agents.create(
            CreateAgent(email=f"{name}{n}@x.example".lower(), name=f"A {n}", team_ids=[team_id]), SYSTEM
        )
        for n in range(agents)
    ]
    return team_id, ids


@pytest.mark.parametrize("seed", range(25))
def test_best_candidate_is_the_domain_rules_choice(seed: int) -> None:
    rng = random.Random(seed)
    team_id, agents = make_team(f"T{seed}", agents=rng.randint(1, 12))
    day_start = start_of_business_day("UTC", NOW)
    for agent_id in agents:
        kind = rng.choice(["never", "yesterday", "today", "today", "unavailable"])
        when = {
            "never": NEVER_ASSIGNED,
            "yesterday": day_start - timedelta(minutes=rng.randint(1, 3000)),
        }.get(kind, day_start + timedelta(minutes=rng.randint(0, 800)))
        MembershipRecord.objects.filter(team_id=team_id, agent_id=agent_id).update(
            assigned_on_day=rng.randint(1, 4) if kind != "never" else 0,
            last_assigned_at=when,
            available=kind != "unavailable",
        )
    pool = DjangoAssignmentPool("UTC")
    expected = choose_agent(pool.loads(team_id, day_start=day_start))
    assert choose_agent(pool.best_candidates(team_id, day_start=day_start)) == expected


def test_loads_and_counters_restart_with_each_business_day() -> None:
    team_id, [agent_id] = make_team("Kolkata", timezone="Asia/Kolkata", agents=1)
    pool = DjangoAssignmentPool("UTC")
    evening = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # 23:30 in Kolkata
    pool.record_assignments({agent_id: 2}, at=evening)
    after_midnight_ist = evening + timedelta(hours=1)  # 00:30 next day in Kolkata, same UTC day
    pool.record_assignments({agent_id: 1}, at=after_midnight_ist)

    membership = MembershipRecord.objects.get(team_id=team_id, agent_id=agent_id)
    assert membership.assigned_on_day == 1  # the team's day restarted at midnight in Kolkata
    agent = AgentRecord.objects.get(id=agent_id)
    assert (agent.assigned_today, agent.total_assigned) == (3, 3)  # the desk (UTC) day did not

    pool.record_resolutions({agent_id: 1}, at=evening + timedelta(days=1))
    agent.refresh_from_db()
    assert (agent.assigned_today, agent.resolved_today, agent.total_resolved) == (0, 1, 1)


def test_unavailable_agents_are_not_candidates_and_cannot_be_locked() -> None:
    team_id, [a, b] = make_team("Risk", agents=2)
    MembershipRecord.objects.filter(agent_id=a).update(available=False)
    pool = DjangoAssignmentPool("UTC")
    day_start = start_of_business_day("UTC", NOW)
    assert [load.agent_id for load in pool.loads(team_id, day_start=day_start)] == [b]
    assert pool.lock_and_reload(team_id, a, day_start=day_start) is None
    assert pool.lock_and_reload(team_id, b, day_start=day_start) is not None
