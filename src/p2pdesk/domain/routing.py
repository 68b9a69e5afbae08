"""Who decides a new ticket's team: a final rule, a confident classifier, the rules, or triage."""

from __future__ import annotations

from dataclasses import dataclass

from p2pdesk.domain.routing_rules import RuleOutcome

DEFAULT_PRIORITY = 3


@dataclass(frozen=True)
class ModelGuess:
    team_id: int
    confidence: float  # calibrated probability of the predicted team, 0..1
    version: str


@dataclass(frozen=True)
class RoutingPolicy:
    confidence_threshold: float = 0.8
    triage_team_id: int | None = None  # where nothing confident sends a message


@dataclass(frozen=True)
class TeamChoice:
    team_id: int | None  # None: nobody decided and there is neither a triage nor a fallback team
    priority: int
    tags: tuple[str, ...]
    decided_by: str  # "rule:<name>", "model:<version>" or "default"
    confidence: float | None


def choose_team(
    rules: RuleOutcome, guess: ModelGuess | None, policy: RoutingPolicy, *, fallback_team_id: int | None
) -> TeamChoice:
    """In order: a matching rule with `stop` (e.g. bank-detail changes: fraud risk, whatever the
    classifier thinks); the classifier when at least `confidence_threshold` sure; the first
    matching rule that sets a team; the triage team; the fallback (a mailbox's default team).
    Priority and tags always come from the matching rules."""
    priority = rules.priority or DEFAULT_PRIORITY
    confidence = guess.confidence if guess is not None else None

    def choice(team_id: int | None, decided_by: str) -> TeamChoice:
        return TeamChoice(team_id, priority, rules.tags, decided_by, confidence)

    if rules.final and rules.team_id is not None:
        return choice(rules.team_id, f"rule:{rules.team_rule}")
    if guess is not None and guess.confidence >= policy.confidence_threshold:
        return choice(guess.team_id, f"model:{guess.version}")
    if rules.team_id is not None:
        return choice(rules.team_id, f"rule:{rules.team_rule}")
    return choice(policy.triage_team_id or fallback_team_id, "default")
