"""In-memory routing repository and setup source for use-case tests."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from p2pdesk.domain.routing_rules import RoutingRule
from p2pdesk.ports.routing import RoutingSetup, TeamClassifier, TicketRouting


@dataclass
class RoutingState:
    rules: dict[int, RoutingRule] = field(default_factory=dict)
    tickets: dict[uuid.UUID, TicketRouting] = field(default_factory=dict)
    corrections: list[tuple[uuid.UUID, int, int, datetime]] = field(default_factory=list)
    next_rule_id: int = 1


def _stored(rule: RoutingRule) -> RoutingRule:
    """A copy as the database would keep it: without the events still to be audited."""
    kept = copy.deepcopy(rule)
    kept.pull_events()
    return kept


class FakeRouting:
    def __init__(self, store: Any) -> None:
        self._store = store
        self._state: RoutingState = store.routing

    def rules(self) -> list[RoutingRule]:
        return [
            copy.deepcopy(r)
            for r in sorted(self._state.rules.values(), key=lambda r: (r.position, r.id or 0))
        ]

    def get_rule(self, rule_id: int, *, for_update: bool = False) -> RoutingRule | None:
        rule = self._state.rules.get(rule_id)
        return copy.deepcopy(rule) if rule else None

    def add_rule(self, rule: RoutingRule) -> None:
        rule.id = self._state.next_rule_id
        self._state.next_rule_id += 1
        self._state.rules[rule.id] = _stored(rule)

    def save_rule(self, rule: RoutingRule) -> None:
        assert rule.id is not None
        self._state.rules[rule.id] = _stored(rule)

    def delete_rule(self, rule_id: int) -> None:
        del self._state.rules[rule_id]

    def rule_name_taken(self, name: str, *, exclude_id: int | None = None) -> bool:
        return any(r.name.lower() == name.lower() and r.id != exclude_id for r in self._state.rules.values())

    def live_teams(self) -> dict[str, int]:
        return {t.name: t.id for t in self._store.teams.values() if not t.is_deleted and t.id is not None}

    def record_routing(self, ticket_id: uuid.UUID, routing: TicketRouting) -> None:
        assert ticket_id in self._store.tickets, "routing is recorded after the ticket is added"
        self._state.tickets[ticket_id] = routing

    def was_routed(self, ticket_id: uuid.UUID) -> bool:
        return ticket_id in self._state.tickets

    def record_correction(self, ticket_id: uuid.UUID, from_team: int, to_team: int, at: datetime) -> None:
        self._state.corrections.append((ticket_id, from_team, to_team, at))


class FakeRoutingSetup:
    """Reads the committed rules and teams of a FakeDesk on every call (no cache to go stale)."""

    def __init__(self, holder: Any, *, triage_team: str = "Triage") -> None:
        self.holder = holder
        self.triage_team = triage_team
        self.classifier: TeamClassifier | None = None
        self.invalidations = 0

    def current(self) -> RoutingSetup:
        store = self.holder.store
        teams = {t.name.casefold(): t.id for t in store.teams.values() if not t.is_deleted}
        live = frozenset(teams.values())
        rules = tuple(
            r
            for r in sorted(store.routing.rules.values(), key=lambda r: (r.position, r.id or 0))
            if r.enabled and (r.actions.team_id is None or r.actions.team_id in live)
        )
        return RoutingSetup(rules, live, teams.get(self.triage_team.casefold()), self.classifier)

    def invalidate(self) -> None:
        self.invalidations += 1


class FixedClassifier:
    """Always predicts the same label with the same probability."""

    def __init__(self, label: str, probability: float) -> None:
        self.label = label
        self.probability = probability
        self.version = "v9"

    def predict(self, text: str) -> tuple[str, float]:
        return self.label, self.probability
