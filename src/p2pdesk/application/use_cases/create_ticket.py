"""Open a ticket in a team and give it to the team's fairest available agent."""

from __future__ import annotations

from dataclasses import dataclass, replace

from p2pdesk.application.audit import record_changes
from p2pdesk.application.errors import IdempotencyConflict, IdempotencyRace
from p2pdesk.application.lookups import team_taking_tickets
from p2pdesk.application.opening import open_ticket
from p2pdesk.application.principal import Principal
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.application.views import routed_view, ticket_view
from p2pdesk.domain.tickets import Priority, Reference, TicketSource
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.queries import TicketView
from p2pdesk.ports.repositories import IdempotencyRecord
from p2pdesk.ports.routing import Router, RoutingDecision, RoutingRequest, ticket_routing
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class CreateTicket:
    subject: str
    description: str
    team_id: int | None  # None: routed like a new message (rules, classifier, triage)
    requester_email: str
    priority: int = int(Priority.NORMAL)
    reference_type: str | None = None
    reference_id: str | None = None
    agent_id: int | None = None
    source: str = TicketSource.API.value
    idempotency_key: str | None = None
    fingerprint: str = ""  # a digest of the request, so a reused key with another body is caught


@dataclass(frozen=True)
class CreateTicketResult:
    ticket: TicketView
    replayed: bool  # True when an earlier request with the same idempotency key created it


class CreateTicketHandler:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, router: Router) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._router = router

    def __call__(self, command: CreateTicket, principal: Principal) -> CreateTicketResult:
        routing = None
        if command.team_id is None:
            decision = self._router.route_request(
                RoutingRequest(
                    subject=command.subject, body=command.description, sender=command.requester_email
                )
            )
            routing = decision
            command = replace(command, team_id=decision.team_id)
        assert command.team_id is not None
        principal.require_team_access(command.team_id)
        priority = Priority.parse(command.priority)
        reference = None
        if command.reference_type is not None or command.reference_id is not None:
            reference = Reference(command.reference_type or "", command.reference_id or "")
        for _ in range(2):
            try:
                return run_in_transaction(
                    self._uow_factory,
                    lambda uow: self._create(uow, command, principal, priority, reference, routing),
                )
            except IdempotencyRace:
                continue  # the other request committed: the next run finds and replays it
        raise AssertionError("an idempotency key raced twice")

    def _create(
        self,
        uow: UnitOfWork,
        command: CreateTicket,
        principal: Principal,
        priority: Priority,
        reference: Reference | None,
        routing: RoutingDecision | None,
    ) -> CreateTicketResult:
        key = command.idempotency_key
        if key is not None:
            previous = uow.idempotency.get(principal.actor, key)
            if previous is not None:
                return self._replay(uow, previous, command)
        assert command.team_id is not None
        team = team_taking_tickets(uow, command.team_id)
        ticket, at = open_ticket(
            uow,
            self._clock,
            team,
            subject=command.subject,
            description=command.description,
            requester_email=command.requester_email,
            priority=priority,
            source=TicketSource(command.source),
            reference=reference,
            agent_id=command.agent_id,
        )
        uow.tickets.add(ticket)
        view = ticket_view(ticket)
        if routing is not None:
            routed = ticket_routing(routing)
            uow.routing.record_routing(ticket.id, routed)
            view = routed_view(view, routed)
        if key is not None:
            uow.idempotency.add(principal.actor, key, IdempotencyRecord(command.fingerprint, ticket.id))
        record_changes(uow, principal, at, [ticket])
        return CreateTicketResult(ticket=view, replayed=False)

    @staticmethod
    def _replay(uow: UnitOfWork, previous: IdempotencyRecord, command: CreateTicket) -> CreateTicketResult:
        if previous.fingerprint != command.fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was already used with a different request body")
        ticket = uow.tickets.get(previous.ticket_id)
        assert ticket is not None, "idempotency records point at tickets, which are never deleted"
        return CreateTicketResult(ticket=ticket_view(ticket), replayed=True)
