"""The unit of work on Django's transaction: commit explicitly, or everything rolls back."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType

from django.db import DatabaseError, OperationalError, transaction

from p2pdesk.application.errors import GroupConflict, TransientConflict
from p2pdesk.domain.events import DomainEvent
from p2pdesk.infrastructure.persistence.assignment_pool import DjangoAssignmentPool
from p2pdesk.infrastructure.persistence.group import current_group, group_state
from p2pdesk.infrastructure.persistence.intake import (
    DjangoInboundLog,
    DjangoMailboxRepository,
    DjangoQuarantineRepository,
    DjangoThreadRepository,
)
from p2pdesk.infrastructure.persistence.push import DjangoPushSubscriptionRepository
from p2pdesk.infrastructure.persistence.repositories import (
    DjangoAgentRepository,
    DjangoAuditLog,
    DjangoIdempotencyStore,
    DjangoTeamRepository,
    DjangoTicketRepository,
)
from p2pdesk.infrastructure.persistence.routing import DjangoRoutingRepository
from p2pdesk.infrastructure.persistence.secrets import SecretCipher
from p2pdesk.infrastructure.persistence.sla import DjangoSlaRepository
from p2pdesk.ports.unit_of_work import EventPublisher

# PostgreSQL SQLSTATEs after which the whole transaction can run again unchanged.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def _is_transient(error: DatabaseError) -> bool:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) in _RETRYABLE_SQLSTATES or "database is locked" in str(error)


@contextmanager
def commit_group() -> Iterator[None]:
    """The CommitGroup port: units of work inside run in one transaction, without savepoints.

    A unit that fails, or ends without committing, cannot be undone alone then: it raises
    GroupConflict, the group rolls back, and the caller redoes the group one unit at a time, where
    each unit's own error is handled as usual. Failures are rare; two round trips per unit are not.
    """
    with group_state() as state:
        try:
            with transaction.atomic():
                yield
                try:
                    state.flush()
                except DatabaseError as error:  # e.g. a unique row: redone unit by unit, it is one unit's
                    raise GroupConflict(f"writing the group's held-back rows failed: {error}") from error
        except DatabaseError as error:  # COMMIT itself, or a unit's transient error seen here
            if _is_transient(error):
                raise GroupConflict(str(error)) from error
            raise


def _conflict(message: str) -> Exception:
    # Inside a group, earlier units' locks are still held: rerunning one unit would meet the same
    # conflict, so the whole group gives way.
    return GroupConflict(message) if current_group() is not None else TransientConflict(message)


class DjangoUnitOfWork:
    def __init__(self, *, desk_timezone: str, publisher: EventPublisher, cipher: SecretCipher) -> None:
        self.teams = DjangoTeamRepository()
        self.agents = DjangoAgentRepository()
        self.tickets = DjangoTicketRepository()
        self.assignment = DjangoAssignmentPool(desk_timezone)
        self.audit = DjangoAuditLog()
        self.idempotency = DjangoIdempotencyStore()
        self.messages = DjangoThreadRepository()
        self.inbound = DjangoInboundLog()
        self.mailboxes = DjangoMailboxRepository(cipher)
        self.quarantine = DjangoQuarantineRepository()
        self.subscriptions = DjangoPushSubscriptionRepository()
        self.routing = DjangoRoutingRepository()
        self.sla = DjangoSlaRepository()
        self._publisher = publisher
        self._committed = False
        self._grouped = False
        self._atomic = transaction.atomic()

    def __enter__(self) -> DjangoUnitOfWork:
        self._committed = False
        self._grouped = current_group() is not None
        self._atomic = transaction.atomic(savepoint=not self._grouped)
        self._atomic.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._grouped and (exc is not None or not self._committed):
            transaction.set_rollback(True)  # the unit cannot be undone alone: so the whole group
            self._atomic.__exit__(exc_type, exc, tb)
            if isinstance(exc, GroupConflict):
                raise exc
            reason = f"{type(exc).__name__}: {exc}" if exc is not None else "a unit did not commit"
            raise GroupConflict(f"a unit failed inside the group ({reason})") from exc
        if exc_type is None and not self._committed:
            transaction.set_rollback(True)
        try:
            self._atomic.__exit__(exc_type, exc, tb)
        except OperationalError as error:  # raised by COMMIT itself
            if _is_transient(error):
                raise _conflict(str(error)) from error
            raise
        if isinstance(exc, DatabaseError) and _is_transient(exc):
            raise _conflict(str(exc)) from exc

    def commit(self) -> None:
        self._committed = True

    def after_commit(self, action: Callable[[], None]) -> None:
        transaction.on_commit(action)

    def publish_after_commit(self, events: Sequence[DomainEvent]) -> None:
        published = list(events)
        transaction.on_commit(lambda: self._publisher.publish(published))
