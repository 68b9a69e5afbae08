"""Read side: list and detail queries that return frozen views, never entities or ORM rows."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class Scope:
    """Which teams' tickets a caller may see; None means every team."""

    team_ids: frozenset[int] | None = None


@dataclass(frozen=True)
class Page(Generic[V]):
    results: list[V]
    next_cursor: str | None
    previous_cursor: str | None = None


@dataclass(frozen=True)
class TicketView:
    id: uuid.UUID
    number: str
    subject: str
    description: str
    team: int
    agent: int | None
    status: str
    priority: int
    requester_email: str
    source: str
    reference: dict[str, str] | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    references: list[dict[str, str]] = field(default_factory=list)  # found by routing: {type, value}
    routing: dict[str, Any] | None = None  # {decided_by, confidence, tags} when the ticket was routed
    # SLA (see domain.sla); None when no policy covered the ticket.
    sla_state: str | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    first_responded_at: datetime | None = None


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str
    description: str
    timezone: str
    is_active: bool


@dataclass(frozen=True)
class AgentView:
    id: int
    email: str
    name: str
    teams: list[int]
    is_active: bool
    tickets_assigned_today: int
    tickets_resolved_today: int
    total_tickets_assigned: int
    total_tickets_resolved: int


@dataclass(frozen=True)
class AuditEventView:
    id: int
    action: str
    actor: str
    at: datetime
    entity_type: str
    entity_id: str
    before: dict[str, Any]
    after: dict[str, Any]


class InvalidQuery(Exception):
    """Filter parameters that cannot be understood; `errors` maps parameter to messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("invalid query parameters")
        self.errors = dict(errors)


class TicketQueries(Protocol):
    def list(
        self, filters: Mapping[str, str], *, scope: Scope, cursor: str | None, limit: int
    ) -> Page[TicketView]: ...
    def get(self, ticket_id: uuid.UUID, *, scope: Scope) -> TicketView | None: ...


class TeamQueries(Protocol):
    def list(self, *, cursor: str | None, limit: int, include_deleted: bool = False) -> Page[TeamView]: ...
    def get(self, team_id: int) -> TeamView | None: ...


class AgentQueries(Protocol):
    def list(self, filters: Mapping[str, str], *, cursor: str | None, limit: int) -> Page[AgentView]: ...
    def get(self, agent_id: int) -> AgentView | None: ...


class AuditQueries(Protocol):
    def list(self, filters: Mapping[str, str], *, cursor: str | None, limit: int) -> Page[AuditEventView]: ...


@dataclass(frozen=True)
class AttachmentView:
    id: uuid.UUID
    ticket_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str | None
    inline: bool
    skipped_reason: str | None


@dataclass(frozen=True)
class MessageView:
    id: uuid.UUID
    direction: str
    from_address: str
    to: list[str]
    cc: list[str]
    subject: str
    text: str
    html: str | None
    message_id: str | None
    author: str
    created_at: datetime
    attachments: list[AttachmentView]


@dataclass(frozen=True)
class QuarantineView:
    id: int
    mailbox: str
    raw_sha256: str
    reason: str
    attempts: int
    resolved_at: datetime | None
    outcome: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MailboxView:
    id: int
    name: str
    kind: str
    address: str
    settings: dict[str, Any]
    default_team: int
    enabled: bool
    acknowledge: bool
    poll_interval_seconds: int
    has_secret: bool
    last_polled_at: datetime | None
    last_error: str
    healthy: bool


class IntakeQueries(Protocol):
    def mailboxes(self) -> list[MailboxView]: ...
    def mailbox(self, mailbox_id: int) -> MailboxView | None: ...

    def thread(self, ticket_id: uuid.UUID, *, scope: Scope) -> list[MessageView] | None:
        """The ticket's messages, oldest first; None when the ticket is not visible in scope."""
        ...

    def attachment(self, attachment_id: uuid.UUID, *, scope: Scope) -> AttachmentView | None: ...
    def quarantine(
        self, *, cursor: str | None, limit: int, include_resolved: bool
    ) -> Page[QuarantineView]: ...
