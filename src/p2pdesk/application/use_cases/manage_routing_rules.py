"""Create, change and delete routing rules (admins only); every change is audited."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from p2pdesk.application.audit import record_changes
from p2pdesk.application.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from p2pdesk.application.principal import Principal, Role
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.domain.routing_rules import Condition, RoutingRule, RuleActions
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

_UNSET: Any = object()


@dataclass(frozen=True)
class RuleFields:
    """A rule as the API and the default rule set give it: conditions and actions as plain data."""

    name: str
    conditions: Sequence[dict[str, Any]]
    actions: dict[str, Any]  # team (id), priority, tags
    position: int = 0
    enabled: bool = True
    match: str = "all"
    stop: bool = False


@dataclass(frozen=True)
class UpdateRule:
    rule_id: int
    changes: dict[str, Any]  # any of RuleFields' names


@dataclass(frozen=True)
class RuleView:
    id: int
    name: str
    position: int
    enabled: bool
    match: str
    conditions: list[dict[str, Any]]
    actions: dict[str, Any]
    stop: bool


def rule_view(rule: RoutingRule) -> RuleView:
    assert rule.id is not None
    return RuleView(
        id=rule.id,
        name=rule.name,
        position=rule.position,
        enabled=rule.enabled,
        match=rule.match,
        conditions=[c.to_dict() for c in rule.conditions],
        actions=rule.actions.to_dict(),
        stop=rule.stop,
    )


def parse_conditions(raw: Sequence[Any]) -> list[Condition]:
    return [Condition.from_dict(c) for c in raw]


def parse_actions(raw: dict[str, Any]) -> RuleActions:
    return RuleActions(
        team_id=raw.get("team"), priority=raw.get("priority"), tags=tuple(raw.get("tags") or ())
    )


def require_rule_admin(principal: Principal) -> None:
    if principal.role != Role.ADMIN:
        raise PermissionDenied("only admins manage routing rules")


class RoutingRuleHandlers:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, on_change: Callable[[], None]) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._on_change = on_change  # drops the router's cached rules once a change commits

    def list(self, principal: Principal) -> list[RuleView]:
        require_rule_admin(principal)
        with self._uow_factory() as uow:
            return [rule_view(r) for r in uow.routing.rules()]

    def get(self, rule_id: int, principal: Principal) -> RuleView:
        require_rule_admin(principal)
        with self._uow_factory() as uow:
            return rule_view(self._rule(uow, rule_id))

    def create(self, fields: RuleFields, principal: Principal) -> RuleView:
        require_rule_admin(principal)

        def work(uow: UnitOfWork) -> RuleView:
            rule = RoutingRule(
                id=None,
                name=fields.name,
                position=fields.position,
                enabled=fields.enabled,
                match=fields.match,
                conditions=parse_conditions(fields.conditions),
                actions=parse_actions(fields.actions),
                stop=fields.stop,
            )
            self._check(uow, rule)
            uow.routing.add_rule(rule)
            rule.record_created()
            record_changes(uow, principal, self._clock.now(), [rule])
            uow.after_commit(self._on_change)
            return rule_view(rule)

        return run_in_transaction(self._uow_factory, work)

    def update(self, command: UpdateRule, principal: Principal) -> RuleView:
        require_rule_admin(principal)

        def work(uow: UnitOfWork) -> RuleView:
            rule = self._rule(uow, command.rule_id, for_update=True)
            changes = dict(command.changes)
            if "conditions" in changes:
                changes["conditions"] = parse_conditions(changes["conditions"])
            if "actions" in changes:
                changes["actions"] = parse_actions(changes["actions"])
            if rule.update(**changes):
                self._check(uow, rule)
                uow.routing.save_rule(rule)
                record_changes(uow, principal, self._clock.now(), [rule])
                uow.after_commit(self._on_change)
            return rule_view(rule)

        return run_in_transaction(self._uow_factory, work)

    def delete(self, rule_id: int, principal: Principal) -> None:
        require_rule_admin(principal)

        def work(uow: UnitOfWork) -> None:
            rule = self._rule(uow, rule_id, for_update=True)
            rule.record_deleted()
            uow.routing.delete_rule(rule_id)
            record_changes(uow, principal, self._clock.now(), [rule])
            uow.after_commit(self._on_change)

        run_in_transaction(self._uow_factory, work)

    @staticmethod
    def _rule(uow: UnitOfWork, rule_id: int, *, for_update: bool = False) -> RoutingRule:
        rule = uow.routing.get_rule(rule_id, for_update=for_update)
        if rule is None:
            raise NotFound(f"routing rule {rule_id} does not exist")
        return rule

    @staticmethod
    def _check(uow: UnitOfWork, rule: RoutingRule) -> None:
        if uow.routing.rule_name_taken(rule.name, exclude_id=rule.id):
            raise Conflict(f"a routing rule named {rule.name!r} already exists", details={"field": "name"})
        team_id = rule.actions.team_id
        if team_id is not None:
            team = uow.teams.get(team_id)
            if team is None or team.is_deleted:
                raise ValidationFailed(f"team {team_id} does not exist", details={"field": "actions.team"})
