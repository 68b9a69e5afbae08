from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from p2pdesk.domain.references import ExtractedReference
from p2pdesk.domain.routing_rules import RoutingRule
from p2pdesk.ports.intake import MailboxConfig
from p2pdesk.ports.mail import ParsedMessage


@dataclass(frozen=True)
class RoutingRequest:
    """A new message to route: from a mailbox, the API, or an admin trying rules out."""

    subject: str
    body: str
    sender: str = ""
    mailbox: str | None = None
    attachments: tuple[str, ...] = ()  # file names
    fallback_team_id: int | None = None  # the mailbox's default team, when there is one


@dataclass(frozen=True)
class RoutingDecision:
    team_id: int
    priority: int = 3
    decided_by: str = "default"  # "rule:<name>", "model:<version>" or "default"
    tags: tuple[str, ...] = ()
    references: tuple[ExtractedReference, ...] = ()
    confidence: float | None = None  # the classifier's, when it was asked


class Router(Protocol):
    """Which team a new message's ticket goes to. The rule engine and classifier plug in here."""

    def route(self, message: ParsedMessage, mailbox: MailboxConfig) -> RoutingDecision: ...

    def route_request(self, request: RoutingRequest) -> RoutingDecision:
        """Raises application.errors.ValidationFailed when no team can be found."""
        ...


class TeamClassifier(Protocol):
    """A trained text classifier whose labels are team ids (as strings)."""

    version: str

    def predict(self, text: str) -> tuple[str, float]:
        """The most likely label and its calibrated probability."""
        ...


@dataclass(frozen=True)
class RoutingSetup:
    rules: tuple[RoutingRule, ...]  # enabled, in position order, only those whose team is live
    live_team_ids: frozenset[int]
    triage_team_id: int | None = None
    classifier: TeamClassifier | None = None


class RoutingSetupSource(Protocol):
    """The rules, triage team and active classifier, cached by the adapter (routing stays fast)."""

    def current(self) -> RoutingSetup: ...
    def invalidate(self) -> None:
        """Drop the cache now (after a rule or model changes in this process)."""
        ...


@dataclass(frozen=True)
class TicketRouting:
    """How a ticket was routed, kept with it: references extracted, who decided, tags."""

    decided_by: str
    confidence: float | None
    tags: tuple[str, ...]
    references: tuple[ExtractedReference, ...] = field(default_factory=tuple)


class RoutingRepository(Protocol):
    def rules(self) -> list[RoutingRule]:
        """Every rule, enabled or not, in position order."""
        ...

    def get_rule(self, rule_id: int, *, for_update: bool = False) -> RoutingRule | None: ...
    def add_rule(self, rule: RoutingRule) -> None:
        """Inserts and sets rule.id."""
        ...

    def save_rule(self, rule: RoutingRule) -> None: ...
    def delete_rule(self, rule_id: int) -> None: ...
    def rule_name_taken(self, name: str, *, exclude_id: int | None = None) -> bool: ...
    def record_routing(self, ticket_id: uuid.UUID, routing: TicketRouting) -> None:
        """Store a new ticket's routing and references (after the ticket is added)."""
        ...

    def live_teams(self) -> dict[str, int]:
        """Live (not deleted) teams by name."""
        ...

    def was_routed(self, ticket_id: uuid.UUID) -> bool: ...
    def record_correction(self, ticket_id: uuid.UUID, from_team: int, to_team: int, at: datetime) -> None:
        """An agent moved a routed ticket: a misroute, and a labelled example for training."""
        ...


def routing_request(message: ParsedMessage, mailbox: MailboxConfig) -> RoutingRequest:
    """What routing reads of a parsed message: forwarded messages count as part of its body."""
    forwarded = [f"{f.subject}\n{f.text}" for f in message.forwarded]
    attachments: Sequence[str] = [a.filename for a in message.attachments if not a.inline]
    return RoutingRequest(
        subject=message.subject,
        body="\n".join([message.text, *forwarded]),
        sender=message.from_address,
        mailbox=mailbox.name,
        attachments=tuple(attachments),
        fallback_team_id=mailbox.default_team_id,
    )


def ticket_routing(decision: RoutingDecision) -> TicketRouting:
    return TicketRouting(
        decided_by=decision.decided_by,
        confidence=decision.confidence,
        tags=decision.tags,
        references=decision.references,
    )
