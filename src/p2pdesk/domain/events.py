"""Domain events: facts recorded by entities, turned into audit events and metrics after the fact.

Each event names the entity it is about and the fields that changed (before/after), so the audit
trail is derived from the same objects that changed state and cannot drift from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    action: str  # e.g. "ticket.created", "ticket.assigned", "agent.updated"
    entity_type: str  # "ticket", "agent", "team"
    entity_id: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    team_id: int | None = None  # the team the change belongs to, for metrics


class RecordsEvents:
    """Mixin for entities that record what happened to them until the unit of work collects it."""

    def _init_events(self) -> None:
        self._events: list[DomainEvent] = []

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    @property
    def has_changes(self) -> bool:
        return bool(self._events)

    def pull_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events
