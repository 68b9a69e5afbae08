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
from typing import Any

from django.db import connection
from django.db.models import Case, F, Value, When

from p2pdesk.domain.agents import Agent
from p2pdesk.domain.assignment import AgentLoad
from p2pdesk.domain.business_day import business_day, start_of_business_day
from p2pdesk.infrastructure.persistence import fast_sql
from p2pdesk.infrastructure.persistence.group import current_group
from p2pdesk.infrastructure.persistence.models import (
    NEVER_ASSIGNED,
    AgentRecord,
    MembershipRecord,
)

_TEAM_LOCK_NAMESPACE = 7301  # first key of pg_advisory_xact_lock(int, int): "p2pdesk team"


def _load_of(
    agent_id: int, assigned_on_day: int, last_assigned_at: datetime, day_start: datetime
) -> AgentLoad:
    today = last_assigned_at >= day_start
    return AgentLoad(
        agent_id=agent_id,
        assigned_today=assigned_on_day if today else 0,
        last_assigned_at=None if last_assigned_at == NEVER_ASSIGNED else last_assigned_at,
    )


def _loads_of(rows: list[tuple[Any, ...]], day_start: datetime) -> list[AgentLoad]:
    """Rows of (agent_id, assigned_on_day, last_assigned_at)."""
    loads = []
    for agent_id, assigned_on_day, last_assigned_at in rows:
        last = fast_sql.aware(last_assigned_at)
        assert last is not None
        loads.append(_load_of(agent_id, assigned_on_day, last, day_start))
    return loads


# Both candidates in one round trip, each an index-ordered LIMIT 1 (pool_idle_order, pool_load_order).
_CANDIDATES_SQL = """
SELECT * FROM (
    SELECT agent_id, assigned_on_day, last_assigned_at FROM p2pdesk_membership
    WHERE team_id = %s AND available AND last_assigned_at < %s
    ORDER BY last_assigned_at, agent_id LIMIT 1
) AS idle
UNION ALL
SELECT * FROM (
    SELECT agent_id, assigned_on_day, last_assigned_at FROM p2pdesk_membership
    WHERE team_id = %s AND available
    ORDER BY assigned_on_day, last_assigned_at, agent_id LIMIT 1
) AS least_loaded
"""

_LOCK_AND_RELOAD_SQL = """
SELECT m.agent_id, m.assigned_on_day, m.last_assigned_at
FROM p2pdesk_membership AS m JOIN p2pdesk_agent AS a ON a.id = m.agent_id
WHERE m.team_id = %s AND m.agent_id = %s AND m.available
"""

_BUMP_AGENT_SQL = """
UPDATE p2pdesk_agent SET
    assigned_today = CASE WHEN counters_day = %(day)s THEN assigned_today + %(n)s ELSE %(n)s END,
    resolved_today = CASE WHEN counters_day = %(day)s THEN resolved_today ELSE 0 END,
    counters_day = %(day)s,
    total_assigned = total_assigned + %(n)s
WHERE id = %(agent)s
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
        self._candidates: dict[tuple[int, int], AgentLoad] = {}  # the last best_candidates, in a group

    def lock_teams(self, team_ids: Sequence[int]) -> None:
        if connection.vendor != "postgresql":
            return
        group = current_group()
        held = group.locked_teams if group is not None else set()  # a group's locks last till it commits
        wanted = sorted(set(team_ids) - held)
        if not wanted:
            return
        with connection.cursor() as cursor:
            for team_id in wanted:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_TEAM_LOCK_NAMESPACE, team_id])
                held.add(team_id)

    def best_candidates(self, team_id: int, *, day_start: datetime) -> list[AgentLoad]:
        """The idle agent who waited longest (load 0 today), and the least-loaded agent."""
        rows = fast_sql.fetch_all(_CANDIDATES_SQL, [team_id, fast_sql.db_datetime(day_start), team_id])
        loads = _loads_of(rows, day_start)
        if current_group() is not None:
            self._candidates = {(team_id, load.agent_id): load for load in loads}
        return loads

    def lock_and_reload(self, team_id: int, agent_id: int, *, day_start: datetime) -> AgentLoad | None:
        group = current_group()
        if group is not None and agent_id in group.locked_agents and team_id in group.locked_teams:
            # Locked by an earlier unit of this group, under its team's lock, until the group commits:
            # nobody else can have changed the load best_candidates has just read (assignments lock
            # the agent row first; availability changes take the team locks first).
            read = self._candidates.get((team_id, agent_id))
            if read is not None:
                return read
        sql = _LOCK_AND_RELOAD_SQL
        if connection.vendor == "postgresql":
            sql += " FOR NO KEY UPDATE OF a"
        loads = _loads_of(fast_sql.fetch_all(sql, [team_id, agent_id]), day_start)
        if group is not None and loads and connection.vendor == "postgresql":
            group.locked_agents.add(agent_id)
        return loads[0] if loads else None

    def loads(self, team_id: int, *, day_start: datetime) -> list[AgentLoad]:
        rows = MembershipRecord.objects.filter(team_id=team_id, available=True).order_by("agent_id")
        return _loads_of(list(rows.values_list("agent_id", "assigned_on_day", "last_assigned_at")), day_start)

    def record_assignments(self, counts: Mapping[int, int], *, at: datetime) -> None:
        agents = sorted(a for a, n in counts.items() if n)
        if not agents:
            return
        day = connection.ops.adapt_datefield_value(business_day(self._desk_timezone, at))
        for agent_id in agents:  # ascending ids: the agent-row lock order
            params = {"day": day, "n": counts[agent_id], "agent": agent_id}
            if connection.vendor == "postgresql":
                # Agent counters and memberships in one statement, sent with the next one (the
                # ticket's INSERT, the COMMIT): this runs on every assignment, under the team lock.
                params["at"] = at
                fast_sql.execute_later(f"WITH agent AS ({_BUMP_AGENT_SQL}) {_BUMP_MEMBERSHIPS_SQL}", params)
            else:
                fast_sql.execute(_BUMP_AGENT_SQL, params)
                self._bump_memberships(agent_id, counts[agent_id], at)

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
        """SQLite: the load in each of the agent's teams counts from that team's own day start."""
        memberships = MembershipRecord.objects.filter(agent_id=agent_id).order_by("team_id")
        for team_id, tz in memberships.values_list("team_id", "team__timezone"):
            MembershipRecord.objects.filter(team_id=team_id, agent_id=agent_id).update(
                assigned_on_day=Case(
                    When(last_assigned_at__gte=start_of_business_day(tz, at), then=F("assigned_on_day") + n),
                    default=Value(n),
                ),
                last_assigned_at=at,
            )
