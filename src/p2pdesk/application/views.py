"""Entity → view conversions for use-case results (queries build the same views from storage)."""

from __future__ import annotations

from dataclasses import replace

from p2pdesk.domain.tickets import Ticket
from p2pdesk.ports.queries import TicketView
from p2pdesk.ports.routing import TicketRouting


def routed_view(view: TicketView, routing: TicketRouting) -> TicketView:
    """A new ticket's view with how it was routed, as the ticket queries show it once stored."""
    return replace(
        view,
        references=[{"type": r.type, "value": r.value} for r in routing.references],
        routing={
            "decided_by": routing.decided_by,
            "confidence": routing.confidence,
            "tags": list(routing.tags),
        },
    )


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
        sla_state=ticket.sla_state,
        first_response_due=ticket.sla.first_response.due if ticket.sla else None,
        resolution_due=ticket.sla.resolution.due if ticket.sla else None,
        first_responded_at=ticket.sla.first_responded_at if ticket.sla else None,
    )
