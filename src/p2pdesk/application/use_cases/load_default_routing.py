"""Load the shipped rule set: its teams (the P2P teams and Triage) and rules, each once.

Idempotent: a team or rule that already exists by name is left as it is (an admin may have tuned
it), so running it again after an upgrade only adds what is new. With `update`, shipped rules that
exist by name take the shipped conditions, actions, position, match and stop (their `enabled` is
left as the admin set it), and shipped rules of earlier versions that the set lists as retired are
disabled, not deleted; each change is an audited rule update. Rules of the desk's own are never
touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from p2pdesk.application.errors import ValidationFailed
from p2pdesk.application.principal import Principal
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.application.use_cases.manage_routing_rules import RoutingRuleHandlers, RuleFields, UpdateRule
from p2pdesk.application.use_cases.manage_teams import CreateTeam, TeamHandlers
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class DefaultTeam:
    name: str
    description: str


@dataclass(frozen=True)
class DefaultRule:
    """A rule whose team is named, not numbered (ids differ from desk to desk)."""

    fields: RuleFields
    team: str | None


@dataclass(frozen=True)
class DefaultRouting:
    teams: Sequence[DefaultTeam]
    rules: Sequence[DefaultRule]
    retired_rules: Sequence[str] = ()  # names earlier versions shipped; disabled by an update


@dataclass(frozen=True)
class LoadedRouting:
    teams_created: int
    rules_created: int
    rules_kept: int  # already there and left as they were
    rules_updated: int = 0
    rules_retired: int = 0


def parse_default_routing(data: dict[str, Any]) -> DefaultRouting:
    """The data file's shape: {"teams": [{name, description}], "rules": [{name, team, ...}]}."""
    try:
        teams = [DefaultTeam(t["name"], t.get("description", "")) for t in data["teams"]]
        rules = []
        for position, raw in enumerate(data["rules"], start=1):
            actions = {"priority": raw.get("priority"), "tags": raw.get("tags", [])}
            fields = RuleFields(
                name=raw["name"],
                conditions=raw["conditions"],
                actions=actions,
                position=raw.get("position", position * 10),
                match=raw.get("match", "any"),
                stop=raw.get("stop", False),
            )
            rules.append(DefaultRule(fields, raw.get("team")))
        retired = [str(name) for name in data.get("retired_rules", [])]
    except (KeyError, TypeError) as error:
        raise ValidationFailed(f"the default routing data is malformed: {error!r}") from None
    shipped = {r.fields.name.casefold() for r in rules}
    if len(shipped) != len(rules) or shipped & {name.casefold() for name in retired}:
        raise ValidationFailed("the default routing data names a rule twice, or ships a retired rule")
    return DefaultRouting(teams, rules, retired)


class LoadDefaultRoutingHandler:
    def __init__(self, uow_factory: UnitOfWorkFactory, teams: TeamHandlers, rules: RoutingRuleHandlers):
        self._uow_factory = uow_factory
        self._teams = teams
        self._rules = rules

    def __call__(
        self, routing: DefaultRouting, principal: Principal, *, update: bool = False
    ) -> LoadedRouting:
        team_ids = run_in_transaction(self._uow_factory, self._live_team_ids)
        created_teams = 0
        for team in routing.teams:
            if team.name.casefold() not in team_ids:
                team_ids[team.name.casefold()] = self._teams.create(
                    CreateTeam(name=team.name, description=team.description), principal
                )
                created_teams += 1
        existing = {r.name.casefold(): r for r in self._rules.list(principal)}
        created = updated = retired = 0
        for rule in routing.rules:
            actions = dict(rule.fields.actions)
            if rule.team is not None:
                if rule.team.casefold() not in team_ids:
                    raise ValidationFailed(
                        f"default rule {rule.fields.name!r} names unknown team {rule.team!r}"
                    )
                actions["team"] = team_ids[rule.team.casefold()]
            fields = replace(rule.fields, actions=actions)
            there = existing.get(fields.name.casefold())
            if there is None:
                self._rules.create(fields, principal)
                created += 1
            elif update:
                changes = {
                    "conditions": list(fields.conditions),
                    "actions": fields.actions,
                    "position": fields.position,
                    "match": fields.match,
                    "stop": fields.stop,
                }
                after = self._rules.update(UpdateRule(there.id, changes), principal)
                updated += after != there
        if update:
            for name in routing.retired_rules:
                old = existing.get(name.casefold())
                if old is not None and old.enabled:
                    self._rules.update(UpdateRule(old.id, {"enabled": False}), principal)
                    retired += 1
        return LoadedRouting(created_teams, created, len(routing.rules) - created - updated, updated, retired)

    @staticmethod
    def _live_team_ids(uow: UnitOfWork) -> dict[str, int]:
        return {name.casefold(): team_id for name, team_id in uow.routing.live_teams().items()}
