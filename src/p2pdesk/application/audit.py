"""Every change becomes an audit entry in the same transaction, and an event after commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from p2pdesk.application.principal import Principal
from p2pdesk.domain.events import DomainEvent, RecordsEvents
from p2pdesk.ports.repositories import AuditEntry
from p2pdesk.ports.unit_of_work import UnitOfWork


def record_events(uow: UnitOfWork, principal: Principal, at: datetime, events: list[DomainEvent]) -> None:
    if not events:
        return
    uow.audit.append([AuditEntry(actor=principal.actor, at=at, event=e) for e in events])
    uow.publish_after_commit(events)


def record_changes(
    uow: UnitOfWork, principal: Principal, at: datetime, entities: Iterable[RecordsEvents]
) -> None:
    record_events(uow, principal, at, [e for entity in entities for e in entity.pull_events()])
