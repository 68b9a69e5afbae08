"""Keeping each ticket's SLA clock in step with its lifecycle; called by the use cases that change tickets.

- opened: the active policy of the ticket's team and priority starts the clock (no policy, no SLA);
- pending: the clock pauses; back to open (requester's reply, reopen): it resumes with the time left;
- resolved or closed: the clock stops (met, or breached when a target was missed);
- the first outbound reply to the requester completes the first-response target.
Dues are fixed when the ticket opens: a later change of priority or team does not move them.
"""

from __future__ import annotations

from datetime import datetime

from p2pdesk.domain.calendars import BusinessCalendar
from p2pdesk.domain.sla import SlaPolicy
from p2pdesk.domain.tickets import Ticket, TicketStatus
from p2pdesk.ports.unit_of_work import UnitOfWork


class SlaLookup:
    """Policies and calendars read once per transaction, for use cases that touch many tickets."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._policies: dict[int, SlaPolicy | None] = {}
        self._calendars: dict[int, BusinessCalendar | None] = {}

    def policy(self, policy_id: int) -> SlaPolicy:
        if policy_id not in self._policies:
            self._policies[policy_id] = self._uow.sla.policy(policy_id)
        policy = self._policies[policy_id]
        assert policy is not None, "policies are never deleted, only deactivated"
        return policy

    def calendar(self, calendar_id: int) -> BusinessCalendar:
        if calendar_id not in self._calendars:
            self._calendars[calendar_id] = self._uow.sla.calendar(calendar_id)
        calendar = self._calendars[calendar_id]
        assert calendar is not None, "a calendar a policy names cannot be deleted"
        return calendar

    def calendar_of(self, policy_id: int) -> BusinessCalendar:
        return self.calendar(self.policy(policy_id).calendar_id)


def start_sla(uow: UnitOfWork, ticket: Ticket) -> None:
    """Start the clock of a ticket just opened, if a policy covers its team and priority."""
    policy = uow.sla.policy_for(ticket.team_id, ticket.priority)
    if policy is None:
        return
    calendar = uow.sla.calendar(policy.calendar_id)
    assert calendar is not None
    ticket.start_sla(policy.start_clock(calendar, ticket.created_at), at=ticket.created_at)


def follow_status(uow: UnitOfWork, ticket: Ticket, *, at: datetime, lookup: SlaLookup | None = None) -> None:
    """Pause, stop or resume the ticket's clock to match its status."""
    sla = ticket.sla
    if sla is None:
        return
    if ticket.status == TicketStatus.PENDING:
        sla = sla.pause(at)
    elif ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        sla = sla.resolve(at)
    elif sla.stopped_at is not None:
        sla = sla.resume((lookup or SlaLookup(uow)).calendar_of(sla.policy_id), at)
    ticket.track_sla(sla, at=at)


def first_response(ticket: Ticket, *, at: datetime) -> None:
    """An outbound reply to the requester went out (notes and automatic acknowledgements do not count)."""
    if ticket.sla is not None:
        ticket.track_sla(ticket.sla.responded(at), at=at)
