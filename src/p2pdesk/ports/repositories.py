"""What the application needs from storage, named by role. Adapters live in infrastructure/."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from p2pdesk.domain.agents import Agent
from p2pdesk.domain.assignment import AgentLoad
from p2pdesk.domain.events import DomainEvent
from p2pdesk.domain.teams import Team
from p2pdesk.domain.tickets import Ticket


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    at: datetime
    event: DomainEvent


@dataclass(frozen=True)
class ActiveTicketRef:
    """Just enough of an active ticket to redistribute it without loading the whole entity."""

    id: uuid.UUID
    team_id: int
    agent_id: int | None


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    ticket_id: uuid.UUID


class TeamRepository(Protocol):
    def add(self, team: Team) -> None: ...
    def get(self, team_id: int) -> Team | None: ...
    def get_many(self, team_ids: Sequence[int]) -> list[Team]: ...
    def save(self, team: Team) -> None: ...
    def live_name_taken(self, name: str, *, exclude_id: int | None = None) -> bool: ...


class AgentRepository(Protocol):
    def add(self, agent: Agent) -> None: ...
    def get(self, agent_id: int, *, for_update: bool = False) -> Agent | None: ...
    def get_many(self, agent_ids: Sequence[int]) -> list[Agent]: ...
    def save(self, agent: Agent) -> None: ...
    def live_email_taken(self, email: str, *, exclude_id: int | None = None) -> bool: ...


class TicketRepository(Protocol):
    def next_number(self) -> int: ...
    def add(self, ticket: Ticket) -> None: ...
    def get(self, ticket_id: uuid.UUID, *, for_update: bool = False) -> Ticket | None: ...
    def id_by_number(self, number: int) -> uuid.UUID | None: ...
    def get_many(self, ticket_ids: Sequence[uuid.UUID], *, for_update: bool = False) -> list[Ticket]: ...
    def save(self, ticket: Ticket) -> None: ...
    def save_many(self, tickets: Sequence[Ticket]) -> None: ...
    def active_of_agents(self, agent_ids: Sequence[int]) -> list[ActiveTicketRef]:
        """Active tickets held by these agents (locked), most urgent and oldest first."""
        ...

    def count_opened_by(self, requester_email: str, *, source: str, since: datetime) -> int:
        """Tickets this requester opened through `source` since then (to rate-limit acknowledgements)."""
        ...

    def teams_with_active_tickets(self, agent_ids: Sequence[int]) -> set[int]:
        """The teams of the active tickets these agents hold (they may have left some teams)."""
        ...

    def unassigned_backlog(self, team_id: int) -> list[ActiveTicketRef]:
        """Active tickets of a team that nobody holds (locked), most urgent and oldest first."""
        ...

    def active_ids_in_team(self, team_id: int) -> list[uuid.UUID]: ...
    def reassign_bulk(self, changes: Sequence[tuple[uuid.UUID, int | None]], *, at: datetime) -> None:
        """Set each ticket's agent in one go; used when thousands of tickets change hands."""
        ...


class AssignmentPool(Protocol):
    """The live loads of a team's available agents, kept so picking the next agent stays flat.

    The adapter keeps one row per (team, agent) with the agent's load in the team's business day,
    indexed in fairness order; `record_assignments` updates it atomically (no lost updates).
    """

    def lock_teams(self, team_ids: Sequence[int]) -> None:
        """Serialise assignment decisions in these teams until the transaction ends."""
        ...

    def best_candidates(self, team_id: int, *, day_start: datetime) -> list[AgentLoad]:
        """A few available agents that include the fairest choice (see domain.assignment)."""
        ...

    def lock_and_reload(self, team_id: int, agent_id: int, *, day_start: datetime) -> AgentLoad | None:
        """Lock the agent for this transaction and return its current load, or None if unavailable."""
        ...

    def loads(self, team_id: int, *, day_start: datetime) -> list[AgentLoad]:
        """Every available agent's load in the team."""
        ...

    def record_assignments(self, counts: Mapping[int, int], *, at: datetime) -> None:
        """Count `counts[agent]` new assignments at `at` towards each agent's loads and counters."""
        ...

    def record_resolutions(self, counts: Mapping[int, int], *, at: datetime) -> None: ...

    def sync_membership(self, agent: Agent) -> None:
        """Make the pool reflect the agent's teams and availability."""
        ...

    def close_team(self, team_id: int) -> None:
        """A deleted team's agents leave its pool (their memberships are kept for history)."""
        ...


class AuditLog(Protocol):
    def append(self, entries: Sequence[AuditEntry]) -> None: ...


class IdempotencyStore(Protocol):
    def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...
    def add(self, scope: str, key: str, record: IdempotencyRecord) -> None:
        """Raises application.errors.IdempotencyRace if another transaction took the key first."""
        ...
