"""Where a message would go and why, without creating anything: for admins trying rules out."""

from __future__ import annotations

from dataclasses import dataclass

from p2pdesk.application.errors import ValidationFailed
from p2pdesk.application.principal import Principal
from p2pdesk.application.use_cases.manage_routing_rules import require_rule_admin
from p2pdesk.ports.routing import Router, RoutingRequest
from p2pdesk.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class ExplainRouting:
    subject: str
    body: str
    sender: str = ""
    mailbox: str | None = None  # a mailbox's name: its default team is the last resort
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoutingExplanation:
    team: int
    team_name: str
    priority: int
    tags: list[str]
    references: list[dict[str, str]]
    decided_by: str
    confidence: float | None


class ExplainRoutingHandler:
    def __init__(self, uow_factory: UnitOfWorkFactory, router: Router) -> None:
        self._uow_factory = uow_factory
        self._router = router

    def __call__(self, command: ExplainRouting, principal: Principal) -> RoutingExplanation:
        require_rule_admin(principal)
        fallback = None
        if command.mailbox is not None:
            with self._uow_factory() as uow:
                mailbox = uow.mailboxes.by_name(command.mailbox)
            if mailbox is None:
                raise ValidationFailed(f"unknown mailbox {command.mailbox!r}", details={"field": "mailbox"})
            fallback = mailbox.default_team_id
        decision = self._router.route_request(
            RoutingRequest(
                subject=command.subject,
                body=command.body,
                sender=command.sender,
                mailbox=command.mailbox,
                attachments=command.attachments,
                fallback_team_id=fallback,
            )
        )
        with self._uow_factory() as uow:
            team = uow.teams.get(decision.team_id)
        return RoutingExplanation(
            team=decision.team_id,
            team_name=team.name if team is not None else "",
            priority=decision.priority,
            tags=list(decision.tags),
            references=[{"type": r.type, "value": r.value} for r in decision.references],
            decided_by=decision.decided_by,
            confidence=decision.confidence,
        )
