"""An agent answers the requester by email, or leaves an internal note on the ticket."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from p2pdesk.application.audit import record_changes
from p2pdesk.application.errors import NotFound, ValidationFailed
from p2pdesk.application.outbound import new_message_id, send_after_commit, store_outbound, thread_ids
from p2pdesk.application.principal import Principal
from p2pdesk.application.sla import first_response
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.domain.messages import Direction
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.mail import Mailer, OutboundEmail
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_BODY = 100_000


@dataclass(frozen=True)
class PostTicketMessage:
    ticket_id: uuid.UUID
    body: str
    internal: bool = False


@dataclass(frozen=True)
class PostedMessage:
    id: uuid.UUID
    direction: str
    message_id: str | None


@dataclass(frozen=True)
class OutboundConfig:
    reply_from: str  # the address replies come from, e.g. the AP shared inbox
    mail_domain: str  # the domain of our Message-IDs


class PostTicketMessageHandler:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, mailer: Mailer, config: OutboundConfig
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._mailer = mailer
        self._config = config

    def __call__(self, command: PostTicketMessage, principal: Principal) -> PostedMessage:
        principal.require_ticket_writer()
        body = command.body.strip()
        if not body:
            raise ValidationFailed("body must not be empty", details={"field": "body"})
        if len(body) > MAX_BODY:
            raise ValidationFailed(f"body is at most {MAX_BODY} characters", details={"field": "body"})
        return run_in_transaction(self._uow_factory, lambda uow: self._post(uow, command, body, principal))

    def _post(
        self, uow: UnitOfWork, command: PostTicketMessage, body: str, principal: Principal
    ) -> PostedMessage:
        ticket = uow.tickets.get(command.ticket_id, for_update=True)
        visible = principal.scope.team_ids
        if ticket is None or (visible is not None and ticket.team_id not in visible):
            raise NotFound(f"ticket {command.ticket_id} does not exist")
        at = self._clock.now()
        thread = uow.messages.thread(ticket.id)
        in_reply_to, references = thread_ids(thread)
        direction = Direction.NOTE if command.internal else Direction.OUTBOUND
        if direction == Direction.OUTBOUND and not ticket.requester_email:
            raise ValidationFailed("this ticket has no requester email to reply to")
        subject = thread[0].subject if thread else ticket.subject
        email = OutboundEmail(
            from_address=self._config.reply_from,
            to=(ticket.requester_email,) if direction == Direction.OUTBOUND else (),
            subject=f"Re: [{ticket.display_number}] {subject.removeprefix('Re: ')}",
            text=body,
            message_id=new_message_id(ticket, self._config.mail_domain),
            in_reply_to=in_reply_to,
            references=references,
            headers={"X-Auto-Response-Suppress": "All"},
        )
        entry = store_outbound(uow, ticket, email, direction=direction, author=principal.actor, at=at)
        if direction == Direction.OUTBOUND:
            first_response(ticket, at=at)
        uow.tickets.save(ticket)
        record_changes(uow, principal, at, [ticket])
        if direction == Direction.OUTBOUND:
            send_after_commit(uow, self._mailer, email)
        return PostedMessage(entry.id, direction.value, entry.message_id)
