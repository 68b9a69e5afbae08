"""Read side for the desk's dashboards and the team leads' load view: aggregates, never rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from p2pdesk.ports.queries import Scope

# Backlog age buckets: (label, upper bound in days; None = no bound), youngest first.
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("under 1 day", 1),
    ("1-3 days", 3),
    ("3-7 days", 7),
    ("over 7 days", None),
)


@dataclass(frozen=True)
class DailyTeamCount:
    team_id: int
    day: date  # in the desk's time zone
    count: int


@dataclass(frozen=True)
class TeamBacklog:
    team_id: int
    counts: tuple[int, ...]  # one per AGE_BUCKETS entry


@dataclass(frozen=True)
class TeamSlaAdherence:
    team_id: int
    kept: int  # tickets whose SLA was not breached
    total: int  # tickets with an SLA state


class ReportQueries(Protocol):
    def opened_per_day(self, *, since: datetime, scope: Scope) -> list[DailyTeamCount]: ...
    def resolved_per_day(self, *, since: datetime, scope: Scope) -> list[DailyTeamCount]: ...
    def backlog_by_age(self, *, now: datetime, scope: Scope) -> list[TeamBacklog]: ...

    def sla_adherence(self, *, since: datetime, scope: Scope) -> list[TeamSlaAdherence]:
        """Per team, of the tickets opened since `since`; empty while tickets carry no SLA state."""
        ...

    def agent_names(self, agent_ids: list[int]) -> dict[int, str]:
        """Display names of these agents, deleted ones included (old tickets still name them)."""
        ...

    def active_load(self, agent_ids: list[int]) -> dict[int, int]:
        """Tickets new, open or pending per agent (agents holding none are left out)."""
        ...
