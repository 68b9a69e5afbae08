"""Routing a new message: references, rules, the learned classifier, then triage (domain.routing)."""

from __future__ import annotations

from p2pdesk.application.errors import ValidationFailed
from p2pdesk.domain.references import extract_references
from p2pdesk.domain.routing import ModelGuess, RoutingPolicy, choose_team
from p2pdesk.domain.routing_rules import RoutingInput, evaluate
from p2pdesk.domain.routing_text import routing_text
from p2pdesk.ports.intake import MailboxConfig
from p2pdesk.ports.mail import ParsedMessage
from p2pdesk.ports.routing import RoutingDecision, RoutingRequest, RoutingSetupSource, routing_request

# Rules and the classifier read at most this much of a body: routing time stays flat on a 25 MB
# message, and what decides a team is in the first screens of text.
MAX_ROUTED_TEXT = 20_000
CLASSIFIED_TEXT = 1_500


def classifier_text(subject: str, body: str) -> str:
    """What the classifier reads, in training and in routing alike."""
    return _classified(subject, routing_text(body[:MAX_ROUTED_TEXT]))


def _classified(subject: str, cleaned_body: str) -> str:
    # The subject twice: it names the topic more often than any line of the body does (on the
    # routing bench's leave-one-corpus-out validation over four corpora, 2,880 messages, the
    # classifier scored 0.956 against 0.950 with the subject once).
    return f"{subject}\n{subject}\n{cleaned_body[:CLASSIFIED_TEXT]}"


def _no_team() -> ValidationFailed:
    return ValidationFailed(
        "no team given, and routing found none (no rule matched, the classifier was unsure "
        "and there is no triage team)",
        details={"field": "team"},
    )


class MailboxDefaultRouter:
    """Every new message goes to its mailbox's default team (tests and desks without routing)."""

    def route(self, message: ParsedMessage, mailbox: MailboxConfig) -> RoutingDecision:
        return RoutingDecision(team_id=mailbox.default_team_id)

    def route_request(self, request: RoutingRequest) -> RoutingDecision:
        if request.fallback_team_id is None:
            raise _no_team()
        return RoutingDecision(team_id=request.fallback_team_id)


class SmartRouter:
    def __init__(
        self,
        setup: RoutingSetupSource,
        *,
        confidence_threshold: float,
        model_overrides_rules: bool = RoutingPolicy.model_overrides_rules,
    ) -> None:
        self._setup = setup
        self._threshold = confidence_threshold
        self._model_overrides_rules = model_overrides_rules

    def route(self, message: ParsedMessage, mailbox: MailboxConfig) -> RoutingDecision:
        return self.route_request(routing_request(message, mailbox))

    def route_request(self, request: RoutingRequest) -> RoutingDecision:
        setup = self._setup.current()
        subject, body = request.subject, routing_text(request.body[:MAX_ROUTED_TEXT])
        references = extract_references(subject, body)
        message = RoutingInput(
            subject=subject,
            body=body,
            sender=request.sender.lower(),
            mailbox=request.mailbox,
            attachments=request.attachments,
            reference_types=frozenset(r.type for r in references),
        )
        outcome = evaluate(setup.rules, message)
        guess = None
        if setup.classifier is not None and not outcome.final:
            label, probability = setup.classifier.predict(_classified(subject, body))
            if label.isdigit() and int(label) in setup.live_team_ids:  # its team may be gone since
                guess = ModelGuess(int(label), probability, setup.classifier.version)
        policy = RoutingPolicy(
            confidence_threshold=self._threshold,
            triage_team_id=setup.triage_team_id,
            model_overrides_rules=self._model_overrides_rules,
        )
        choice = choose_team(outcome, guess, policy, fallback_team_id=request.fallback_team_id)
        if choice.team_id is None:
            raise _no_team()
        return RoutingDecision(
            team_id=choice.team_id,
            priority=choice.priority,
            decided_by=choice.decided_by,
            tags=choice.tags,
            references=references,
            confidence=choice.confidence,
        )
