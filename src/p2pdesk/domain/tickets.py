"""Tickets: the status lifecycle, priority, external reference and the changes a ticket records."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

from p2pdesk.domain.errors import IllegalTransition, InvalidValue
from p2pdesk.domain.events import DomainEvent, RecordsEvents

if TYPE_CHECKING:
    from p2pdesk.domain.sla import TicketSla

NUMBER_PREFIX = "P2P-"
_NUMBER_RE = re.compile(r"^P2P-(\d{6,})$")


def format_ticket_number(sequence: int) -> str:
    return f"{NUMBER_PREFIX}{sequence:06d}"


def parse_ticket_number(text: str) -> int | None:
    match = _NUMBER_RE.match(text.strip().upper())
    return int(match.group(1)) if match else None


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_active(self) -> bool:
        """Active tickets are work someone still has to do; they are assigned and redistributed."""
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING})

# Closed is final for people: only a requester's reply reopens it (see Ticket.reopen).
ALLOWED_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}


class Priority(IntEnum):
    URGENT = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4

    @classmethod
    def parse(cls, value: object) -> Priority:
        if isinstance(value, bool) or not isinstance(value, int) or value not in (1, 2, 3, 4):
            raise InvalidValue("priority must be an integer from 1 (urgent) to 4 (low)")
        return cls(value)


class TicketSource(StrEnum):
    EMAIL = "email"
    API = "api"
    EVENT = "event"


@dataclass(frozen=True)
class Reference:
    """An external reference such as a KYC user, a PO or an invoice number."""

    type: str
    id: str

    MAX_TYPE = 50
    MAX_ID = 200

    def __post_init__(self) -> None:
        if not self.type.strip() or not self.id.strip():
            raise InvalidValue("reference needs a non-empty type and id")
        if len(self.type) > self.MAX_TYPE or len(self.id) > self.MAX_ID:
            raise InvalidValue(
                f"reference type is at most {self.MAX_TYPE} characters and id at most {self.MAX_ID}"
            )


class Ticket(RecordsEvents):
    def __init__(
        self,
        *,
        id: uuid.UUID,
        number: int,
        subject: str,
        description: str,
        team_id: int,
        status: TicketStatus,
        priority: Priority,
        requester_email: str,
        source: TicketSource,
        reference: Reference | None,
        agent_id: int | None,
        created_at: datetime,
        updated_at: datetime,
        resolved_at: datetime | None = None,
        sla: TicketSla | None = None,
        sla_state: str | None = None,
    ) -> None:
        self.id = id
        self.number = number
        self.subject = subject
        self.description = description
        self.team_id = team_id
        self.status = status
        self.priority = priority
        self.requester_email = requester_email
        self.source = source
        self.reference = reference
        self.agent_id = agent_id
        self.created_at = created_at
        self.updated_at = updated_at
        self.resolved_at = resolved_at
        self.sla = sla  # None when no SLA policy covered the ticket's team and priority when opened
        self.sla_state = sla_state  # the SLA state as of the last change (see domain.sla)
        self.sla_changed = False  # lets bulk saves skip the SLA columns when no clock moved
        self._init_events()

    @classmethod
    def open_new(
        cls,
        *,
        number: int,
        subject: str,
        description: str,
        team_id: int,
        priority: Priority,
        requester_email: str,
        source: TicketSource,
        reference: Reference | None,
        at: datetime,
    ) -> Ticket:
        subject = subject.strip()
        if not subject:
            raise InvalidValue("subject must not be empty")
        ticket = cls(
            id=uuid.uuid4(),
            number=number,
            subject=subject,
            description=description,
            team_id=team_id,
            status=TicketStatus.NEW,
            priority=priority,
            requester_email=requester_email.strip().lower(),
            source=source,
            reference=reference,
            agent_id=None,
            created_at=at,
            updated_at=at,
        )
        ticket._record("ticket.created", {}, ticket.snapshot())
        return ticket

    @property
    def display_number(self) -> str:
        return format_ticket_number(self.number)

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    def snapshot(self) -> dict[str, Any]:
        return {
            "number": self.display_number,
            "subject": self.subject,
            "team": self.team_id,
            "agent": self.agent_id,
            "status": self.status.value,
            "priority": int(self.priority),
            "requester_email": self.requester_email,
            "source": self.source.value,
            "reference": ({"type": self.reference.type, "id": self.reference.id} if self.reference else None),
        }

    def assign(self, agent_id: int, *, at: datetime, reason: str) -> bool:
        """Give the ticket to an agent. Returns False when it already was theirs."""
        if agent_id == self.agent_id:
            return False
        before = self.agent_id
        self.agent_id = agent_id
        self.updated_at = at
        self.record(assignment_event(self.id, self.team_id, before, agent_id, reason))
        return True

    def unassign(self, *, at: datetime, reason: str) -> bool:
        if self.agent_id is None:
            return False
        before = self.agent_id
        self.agent_id = None
        self.updated_at = at
        self.record(assignment_event(self.id, self.team_id, before, None, reason))
        return True

    def change_status(self, new: TicketStatus, *, at: datetime) -> bool:
        """Move along the lifecycle. Returns False when the ticket already has that status."""
        if new == self.status:
            return False
        if new not in ALLOWED_TRANSITIONS[self.status]:
            allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[self.status])) or "none"
            raise IllegalTransition(
                f"ticket {self.display_number} cannot go from {self.status.value} to {new.value}"
                f" (allowed from {self.status.value}: {allowed})"
            )
        self._set_status(new, at)
        return True

    def reopen(self, *, at: datetime) -> bool:
        """A requester's reply brings a pending, resolved or closed ticket back to open.

        Pending means waiting on the requester: their reply is what it waited for (the SLA resumes).
        """
        if self.status not in (TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED):
            return False
        self._set_status(TicketStatus.OPEN, at)
        return True

    def change_priority(self, priority: Priority, *, at: datetime) -> bool:
        if priority == self.priority:
            return False
        before = self.priority
        self.priority = priority
        self.updated_at = at
        self._record("ticket.priority_changed", {"priority": int(before)}, {"priority": int(priority)})
        return True

    def move_to_team(self, team_id: int, *, at: datetime) -> bool:
        """Move to another team. The caller re-assigns within the new team."""
        if team_id == self.team_id:
            return False
        before = self.team_id
        self.team_id = team_id
        self.updated_at = at
        self._record("ticket.moved", {"team": before}, {"team": team_id})
        return True

    def add_to_thread(
        self, *, message_uuid: uuid.UUID, direction: str, message_id: str | None, sender: str, at: datetime
    ) -> None:
        """Record a new thread entry (mail in, reply out, internal note) as a change to the ticket."""
        self.updated_at = at
        self._record(
            "ticket.message_added",
            {},
            {"message": str(message_uuid), "direction": direction, "message_id": message_id, "from": sender},
        )

    def start_sla(self, sla: TicketSla, *, at: datetime) -> None:
        """A new ticket's SLA clock; its dues join the creation's audit record rather than a change."""
        self.sla = sla
        self.sla_state = sla.state(at).value
        self.sla_changed = True
        dues = {
            "sla_state": self.sla_state,
            "first_response_due": sla.first_response.due.isoformat(),
            "resolution_due": sla.resolution.due.isoformat(),
        }
        self._events = [
            replace(e, after={**e.after, **dues}) if e.action == "ticket.created" else e for e in self._events
        ]

    def track_sla(self, sla: TicketSla, *, at: datetime) -> bool:
        """Keep the SLA clock as of `at`; a change of SLA state is recorded. Returns True on a change."""
        sla = sla.evaluate(at)
        state = sla.state(at).value
        changed = sla != self.sla or state != self.sla_state
        before = self.sla_state
        self.sla = sla
        self.sla_state = state
        self.sla_changed = self.sla_changed or changed
        if state != before:
            self._record("ticket.sla_changed", {"sla_state": before}, {"sla_state": state})
        return changed

    def _set_status(self, new: TicketStatus, at: datetime) -> None:
        before = self.status
        self.status = new
        self.updated_at = at
        if new == TicketStatus.RESOLVED:
            self.resolved_at = at
        elif new.is_active:
            self.resolved_at = None
        self._record(
            "ticket.status_changed",
            {"status": before.value},
            {"status": new.value, "agent": self.agent_id},
        )

    def _record(self, action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        self.record(
            DomainEvent(
                action=action,
                entity_type="ticket",
                entity_id=str(self.id),
                before=before,
                after=after,
                team_id=self.team_id,
            )
        )


def assignment_event(
    ticket_id: uuid.UUID, team_id: int, before: int | None, after: int | None, reason: str
) -> DomainEvent:
    """The event for a ticket changing hands; bulk redistribution records the same shape."""
    return DomainEvent(
        action="ticket.assigned" if after is not None else "ticket.unassigned",
        entity_type="ticket",
        entity_id=str(ticket_id),
        before={"agent": before},
        after={"agent": after, "reason": reason},
        team_id=team_id,
    )
