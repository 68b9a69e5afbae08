from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol

from p2pdesk.domain.events import DomainEvent
from p2pdesk.ports.intake import InboundLog, MailboxRepository, QuarantineRepository, ThreadRepository
from p2pdesk.ports.mailboxes import PushSubscriptionRepository
from p2pdesk.ports.repositories import (
    AgentRepository,
    AssignmentPool,
    AuditLog,
    IdempotencyStore,
    TeamRepository,
    TicketRepository,
)
from p2pdesk.ports.routing import RoutingRepository
from p2pdesk.ports.sla import SlaRepository


class UnitOfWork(Protocol):
    """One transaction. Nothing is kept unless `commit()` is called before the block ends."""

    teams: TeamRepository
    agents: AgentRepository
    tickets: TicketRepository
    assignment: AssignmentPool
    audit: AuditLog
    idempotency: IdempotencyStore
    messages: ThreadRepository
    inbound: InboundLog
    mailboxes: MailboxRepository
    quarantine: QuarantineRepository
    subscriptions: PushSubscriptionRepository
    routing: RoutingRepository
    sla: SlaRepository

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def after_commit(self, action: Callable[[], None]) -> None:
        """Run a side effect (send mail, acknowledge) once, and only if, the transaction commits."""
        ...

    def publish_after_commit(self, events: Sequence[DomainEvent]) -> None:
        """Hand events to the event publisher once (and only if) the transaction commits."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]

# Commits the units of work run inside it as one transaction, each a savepoint of it. Why: a commit
# waits for the disk (about 6 ms on the reference machine), so one commit per message caps a worker
# far below what it can parse and persist. after_commit actions wait for the group's commit. A
# deadlock or serialization failure inside the group rolls the whole group back and raises
# GroupConflict; the caller then redoes that work one unit at a time.
CommitGroup = Callable[[], AbstractContextManager[None]]


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...
