"""Entity → view conversions for use-case results (queries build the same views from storage)."""

from __future__ import annotations

from p2pdesk.domain.tickets import Ticket
from p2pdesk.ports.queries import TicketView


def ticket_view(ticket: Ticket) -> TicketView:
    return TicketView(
        id=ticket.id,
        number=ticket.display_number,
        subject=ticket.subject,
        description=ticket.description,
        team=ticket.team_id,
        agent=ticket.agent_id,
        status=ticket.status.value,
        priority=int(ticket.priority),
        requester_email=ticket.requester_email,
        source=ticket.source.value,
        reference={"type": ticket.reference.type, "id": ticket.reference.id} if ticket.reference else None,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        resolved_at=ticket.resolved_at,
    )
