from __future__ import annotations

from datetime import UTC, datetime

import pytest

from p2pdesk.domain.errors import IllegalTransition, InvalidValue
from p2pdesk.domain.tickets import (
    ALLOWED_TRANSITIONS,
    Priority,
    Reference,
    Ticket,
    TicketSource,
    TicketStatus,
    format_ticket_number,
    parse_ticket_number,
)

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def new_ticket(**overrides: object) -> Ticket:
    fields: dict[str, object] = {
        "number": 123,
        "subject": "  Invoice INV-77 missing ",
        "description": "",
        "team_id": 1,
        "priority": Priority.NORMAL,
        "requester_email": " AP@Vendor.Example ",
        "source": TicketSource.API,
        "reference": Reference("invoice", "INV-77"),
        "at": AT,
    }
    fields.update(overrides)
    return Ticket.open_new(**fields)  # type: ignore[arg-type]


def test_new_ticket_is_normalised_and_records_its_creation() -> None:
    ticket = new_ticket()
    assert ticket.display_number == "P2P-000123"
    assert ticket.subject == "Invoice INV-77 missing"
    assert ticket.requester_email == "ap@vendor.example"
    assert ticket.status is TicketStatus.NEW
    [event] = ticket.pull_events()
    assert event.action == "ticket.created"
    assert event.after["reference"] == {"type": "invoice", "id": "INV-77"}
    assert ticket.pull_events() == []


@pytest.mark.parametrize("source", list(TicketStatus))
@pytest.mark.parametrize("target", list(TicketStatus))
def test_only_listed_transitions_are_allowed(source: TicketStatus, target: TicketStatus) -> None:
    ticket = new_ticket()
    ticket.status = source
    if source == target:
        assert ticket.change_status(target, at=AT) is False
    elif target in ALLOWED_TRANSITIONS[source]:
        assert ticket.change_status(target, at=AT) is True
        assert ticket.status is target
    else:
        with pytest.raises(IllegalTransition) as error:
            ticket.change_status(target, at=AT)
        assert f"from {source.value} to {target.value}" in error.value.message
        assert ticket.status is source


def test_nothing_goes_back_to_new_and_closed_is_final_for_people() -> None:
    assert all(TicketStatus.NEW not in allowed for allowed in ALLOWED_TRANSITIONS.values())
    assert ALLOWED_TRANSITIONS[TicketStatus.CLOSED] == frozenset()


@pytest.mark.parametrize("status", [TicketStatus.RESOLVED, TicketStatus.CLOSED])
def test_a_reply_reopens_resolved_and_closed_tickets(status: TicketStatus) -> None:
    ticket = new_ticket()
    ticket.status = status
    assert ticket.reopen(at=AT) is True
    assert ticket.status is TicketStatus.OPEN
    assert ticket.resolved_at is None


def test_reopen_leaves_active_tickets_alone() -> None:
    ticket = new_ticket()
    assert ticket.reopen(at=AT) is False
    assert ticket.status is TicketStatus.NEW


def test_resolving_stamps_resolved_at() -> None:
    ticket = new_ticket()
    ticket.change_status(TicketStatus.RESOLVED, at=AT)
    assert ticket.resolved_at == AT


@pytest.mark.parametrize("value", [0, 5, "2", 2.0, True, None])
def test_priority_must_be_an_integer_from_1_to_4(value: object) -> None:
    with pytest.raises(InvalidValue):
        Priority.parse(value)


def test_priority_default_is_normal() -> None:
    assert Priority.parse(3) is Priority.NORMAL


@pytest.mark.parametrize(("type_", "id_"), [("", "1"), ("po", " "), ("x" * 51, "1"), ("po", "9" * 201)])
def test_reference_rejects_empty_or_oversized_parts(type_: str, id_: str) -> None:
    with pytest.raises(InvalidValue):
        Reference(type_, id_)


def test_empty_subject_is_refused() -> None:
    with pytest.raises(InvalidValue):
        new_ticket(subject="   ")


def test_ticket_numbers_round_trip() -> None:
    assert format_ticket_number(7) == "P2P-000007"
    assert format_ticket_number(1_234_567) == "P2P-1234567"
    assert parse_ticket_number("p2p-000007") == 7
    assert parse_ticket_number("P2P-12") is None


def test_assignment_changes_record_before_and_after() -> None:
    ticket = new_ticket()
    ticket.pull_events()
    assert ticket.assign(5, at=AT, reason="test") is True
    assert ticket.assign(5, at=AT, reason="test") is False
    assert ticket.unassign(at=AT, reason="gone") is True
    assigned, unassigned = ticket.pull_events()
    assert (assigned.action, assigned.before, assigned.after["agent"]) == (
        "ticket.assigned",
        {"agent": None},
        5,
    )
    assert (unassigned.action, unassigned.before, unassigned.after["agent"]) == (
        "ticket.unassigned",
        {"agent": 5},
        None,
    )
