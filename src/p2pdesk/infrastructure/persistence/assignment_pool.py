"""The assignment pool on the membership table: fair picking that stays flat as teams grow.

Picking reads at most two index entries per team, whatever its size:
- an idle agent (nothing assigned in the team's business day) wins; among them the least recently
  assigned: the first entry of the partial index (team, last_assigned_at, agent) below day start;
- otherwise everyone has a load for today, and the first entry of (team, assigned_on_day,
  last_assigned_at, agent) is the fairest.
That is exactly domain.assignment's order; the contract tests hold both to it.

On PostgreSQL a transaction-scoped advisory lock per team serialises decisions within a team, and
the chosen agent's row is locked (FOR NO KEY UPDATE) before its load is re-read, so no worker acts on
a load another has changed. SQLite serialises all writers already (IMMEDIATE transactions).
Lock order everywhere: team locks (ascending ids), then agent rows, then ticket rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.db import connection
from django.db.models import Case, F, Value, When

from p2pdesk.domain.agents import Agent
from p2pdesk.domain.assignment import AgentLoad
from p2pdesk.domain.business_day import business_day, start_of_business_day
from p2pdesk.infrastructure.persistence.models import (
    NEVER_ASSIGNED,
    AgentRecord,
    MembershipRecord,
)

_TEAM_LOCK_NAMESPACE = 7301  # first key of pg_advisory_xact_lock(int, int): "p2pdesk team"


def _load(row: MembershipRecord, day_start: datetime) -> AgentLoad:
    today = row.last_assigned_at >= day_start
    return AgentLoad(
        agent_id=row.agent_id,
        assigned_today=row.assigned_on_day if today else 0,
        last_assigned_at=None if row.last_assigned_at == NEVER_ASSIGNED else row.last_assigned_at,
    )


class DjangoAssignmentPool:
    def __init__(self, desk_timezone: str) -> None:
        self._desk_timezone = desk_timezone

    def lock_teams(self, team_ids: Sequence[int]) -> None:
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for team_id in sorted(set(team_ids)):
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_TEAM_LOCK_NAMESPACE, team_id])

    def best_candidates(self, team_id: int, *, day_start: datetime) -> list[AgentLoad]:
        pool = MembershipRecord.objects.filter(team_id=team_id, available=True)
        idle = pool.filter(last_assigned_at__lt=day_start).order_by("last_assigned_at", "agent_id").first()
        if idle is not None:
            return [_load(idle, day_start)]
        busiest_first = pool.order_by("assigned_on_day", "last_assigned_at", "agent_id").first()
        return [_load(busiest_first, day_start)] if busiest_first else []

    def lock_and_reload(self, team_id: int, agent_id: int, *, day_start: datetime) -> AgentLoad | None:
        AgentRecord.objects.select_for_update(no_key=True).filter(id=agent_id).values_list("id").first()
        row = MembershipRecord.objects.filter(team_id=team_id, agent_id=agent_id, available=True).first()
        return _load(row, day_start) if row else None

    def loads(self, team_id: int, *, day_start: datetime) -> list[AgentLoad]:
        rows = MembershipRecord.objects.filter(team_id=team_id, available=True).order_by("agent_id")
        return [_load(row, day_start) for row in rows]

    def record_assignments(self, counts: Mapping[int, int], *, at: datetime) -> None:
        agents = sorted(a for a, n in counts.items() if n)
        if not agents:
            return
        desk_day = business_day(self._desk_timezone, at)
        for agent_id in agents:  # ascending ids: the agent-row lock order
            n = counts[agent_id]
            AgentRecord.objects.filter(id=agent_id).update(
                assigned_today=Case(
                    When(counters_day=desk_day, then=F("assigned_today") + n), default=Value(n)
                ),
                resolved_today=Case(When(counters_day=desk_day, then=F("resolved_today")), default=Value(0)),
                counters_day=desk_day,
                total_assigned=F("total_assigned") + n,
            )
            # The load in each of the agent's teams counts from that team's own day start.
            for team_id, tz in self._membership_timezones(agent_id):
                day_start = start_of_business_day(tz, at)
                MembershipRecord.objects.filter(team_id=team_id, agent_id=agent_id).update(
                    assigned_on_day=Case(
                        When(last_assigned_at__gte=day_start, then=F("assigned_on_day") + n), default=Value(n)
                    ),
                    last_assigned_at=at,
                )

    def record_resolutions(self, counts: Mapping[int, int], *, at: datetime) -> None:
        desk_day = business_day(self._desk_timezone, at)
        for agent_id in sorted(a for a, n in counts.items() if n):
            n = counts[agent_id]
            AgentRecord.objects.filter(id=agent_id).update(
                resolved_today=Case(
                    When(counters_day=desk_day, then=F("resolved_today") + n), default=Value(n)
                ),
                assigned_today=Case(When(counters_day=desk_day, then=F("assigned_today")), default=Value(0)),
                counters_day=desk_day,
                total_resolved=F("total_resolved") + n,
            )

    def sync_membership(self, agent: Agent) -> None:
        MembershipRecord.objects.filter(agent_id=agent.id).update(available=False)
        if agent.is_available:
            MembershipRecord.objects.filter(
                agent_id=agent.id, team_id__in=agent.team_ids, team__deleted_at__isnull=True
            ).update(available=True)

    def close_team(self, team_id: int) -> None:
        MembershipRecord.objects.filter(team_id=team_id).update(available=False)

    @staticmethod
    def _membership_timezones(agent_id: int) -> list[tuple[int, str]]:
        return list(
            MembershipRecord.objects.filter(agent_id=agent_id)
            .values_list("team_id", "team__timezone")
            .order_by("team_id")
        )
