"""Outgoing mail: threaded replies and RFC 3834 acknowledgements, sent only after commit.

Every outgoing message gets our own Message-ID and is stored in the thread, so the requester's
answer (In-Reply-To/References our id) threads back onto the ticket.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from p2pdesk.domain.messages import Direction, TicketMessage
from p2pdesk.domain.tickets import Ticket
from p2pdesk.ports.mail import Mailer, MailNotSent, OutboundEmail
from p2pdesk.ports.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

MAX_REFERENCES = 20  # keep headers short on long threads: the newest ids are the useful ones

# Headers on every automatic message: RFC 3834, and the Microsoft header that asks Exchange not to
# answer with its own auto-replies (mail loops start with two robots answering each other).
AUTO_REPLY_HEADERS = {
    "Auto-Submitted": "auto-replied",
    "X-Auto-Response-Suppress": "All",
    "X-Loop": "p2pdesk",
}


def new_message_id(ticket: Ticket, domain: str) -> str:
    return f"p2p.{ticket.number}.{uuid.uuid4().hex}@{domain}"


def thread_ids(thread: Sequence[TicketMessage]) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To (the newest message with an id) and References (oldest first, capped)."""
    ids = [m.message_id for m in thread if m.message_id]
    return (ids[-1] if ids else None), tuple(ids[-MAX_REFERENCES:])


def send_after_commit(uow: UnitOfWork, mailer: Mailer, email: OutboundEmail) -> None:
    def send() -> None:
        try:
            mailer.send(email)
        except MailNotSent:
            # The message stays in the thread; logging it lets operators resend by hand for now.
            log.exception("mail.not_sent message_id=%s", email.message_id)

    uow.after_commit(send)


def store_outbound(
    uow: UnitOfWork,
    ticket: Ticket,
    email: OutboundEmail,
    *,
    direction: Direction,
    author: str,
    at: datetime,
) -> TicketMessage:
    entry = TicketMessage(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        direction=direction,
        message_id=email.message_id if direction == Direction.OUTBOUND else None,
        from_address=email.from_address,
        to=email.to,
        cc=email.cc,
        subject=email.subject,
        text=email.text,
        html=None,
        created_at=at,
        in_reply_to=email.in_reply_to,
        author=author,
    )
    uow.messages.add(entry)
    ticket.add_to_thread(
        message_uuid=entry.id, direction=direction.value, message_id=entry.message_id, sender=author, at=at
    )
    return entry
