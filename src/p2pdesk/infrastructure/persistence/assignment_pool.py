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


# Both candidates in one round trip, each an index-ordered LIMIT 1 (pool_idle_order, pool_load_order).
_CANDIDATES_SQL = """
SELECT * FROM (
    SELECT id, team_id, agent_id, available, assigned_on_day, last_assigned_at FROM p2pdesk_membership
    WHERE team_id = %s AND available AND last_assigned_at < %s
    ORDER BY last_assigned_at, agent_id LIMIT 1
) AS idle
UNION ALL
SELECT * FROM (
    SELECT id, team_id, agent_id, available, assigned_on_day, last_assigned_at FROM p2pdesk_membership
    WHERE team_id = %s AND available
    ORDER BY assigned_on_day, last_assigned_at, agent_id LIMIT 1
) AS least_loaded
"""

_LOCK_AND_RELOAD_SQL = """
SELECT m.id, m.team_id, m.agent_id, m.available, m.assigned_on_day, m.last_assigned_at
FROM p2pdesk_membership AS m JOIN p2pdesk_agent AS a ON a.id = m.agent_id
WHERE m.team_id = %s AND m.agent_id = %s AND m.available
"""

# PostgreSQL works out each team's day start from the team's timezone name, so one statement
# updates every membership of the agent whatever their timezones.
_BUMP_MEMBERSHIPS_SQL = """
UPDATE p2pdesk_membership AS m SET
    assigned_on_day = CASE
        WHEN m.last_assigned_at
            >= (date_trunc('day', %(at)s AT TIME ZONE t.timezone) AT TIME ZONE t.timezone)
        THEN m.assigned_on_day + %(n)s ELSE %(n)s END,
    last_assigned_at = %(at)s
FROM p2pdesk_team AS t
WHERE t.id = m.team_id AND m.agent_id = %(agent)s
"""


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
        """The idle agent who waited longest (load 0 today), and the least-loaded agent."""
        rows = MembershipRecord.objects.raw(_CANDIDATES_SQL, [team_id, day_start, team_id])
        return [_load(row, day_start) for row in rows]

    def lock_and_reload(self, team_id: int, agent_id: int, *, day_start: datetime) -> AgentLoad | None:
        sql = _LOCK_AND_RELOAD_SQL
        if connection.vendor == "postgresql":
            sql += " FOR NO KEY UPDATE OF a"
        rows = list(MembershipRecord.objects.raw(sql, [team_id, agent_id]))
        return _load(rows[0], day_start) if rows else None

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
            self._bump_memberships(agent_id, n, at)

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
    def _bump_memberships(agent_id: int, n: int, at: datetime) -> None:
        """The load in each of the agent's teams counts from that team's own day start."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_BUMP_MEMBERSHIPS_SQL, {"at": at, "n": n, "agent": agent_id})
            return
        memberships = MembershipRecord.objects.filter(agent_id=agent_id).order_by("team_id")
        for team_id, tz in memberships.values_list("team_id", "team__timezone"):
            MembershipRecord.objects.filter(team_id=team_id, agent_id=agent_id).update(
                assigned_on_day=Case(
                    When(last_assigned_at__gte=start_of_business_day(tz, at), then=F("assigned_on_day") + n),
                    default=Value(n),
                ),
                last_assigned_at=at,
            )
