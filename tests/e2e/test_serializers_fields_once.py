"""The ticket serializers that build their fields once per class answer exactly as plain DRF ones."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework import serializers

from p2pdesk.infrastructure.api.tickets import TicketCreateInput, TicketOutput
from p2pdesk.ports.queries import TicketView


def plain_twin(cls: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The same declared fields on a serializer without FieldsOnceMixin."""
    bases = tuple(b for b in cls.__mro__[1:] if b.__name__ != "FieldsOnceMixin")[:1]
    attrs = {name: copy.deepcopy(field) for name, field in cls._declared_fields.items()}  # type: ignore[attr-defined]
    return type(f"Plain{cls.__name__}", bases, attrs)


def view(**changes: Any) -> TicketView:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "number": "P2P-000042",
        "subject": "Invoice INV-1 blocked",
        "description": "price variance",
        "team": 3,
        "agent": 7,
        "status": "open",
        "priority": 2,
        "requester_email": "ap@vendor.example",
        "source": "api",
        "reference": {"type": "invoice", "id": "INV-1"},
        "created_at": datetime(2026, 11, 22, 9, 30, 0, 123456, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 22, 9, 31, tzinfo=UTC),
        "resolved_at": None,
    }
    fields.update(changes)
    return TicketView(**fields)


@pytest.mark.parametrize("ticket", [view(), view(reference=None, agent=None, resolved_at=view().updated_at)])
def test_ticket_output_matches_plain_drf(ticket: TicketView) -> None:
    assert TicketOutput(ticket).data == plain_twin(TicketOutput)(ticket).data
    many = [ticket, view()]
    assert TicketOutput(many, many=True).data == plain_twin(TicketOutput)(many, many=True).data


@pytest.mark.parametrize(
    "body",
    [
        {"subject": "s", "team": 1, "requester_email": "a@b.example"},
        {"subject": "s", "team": 1, "requester_email": "a@b.ex", "reference": {"type": "po", "id": "4"}},
        {"subject": "", "team": 0, "requester_email": "not-an-email", "priority": 9},
        {"subject": "s", "team": "x", "requester_email": "a@b.example", "reference": {"type": "po"}},
        {"subject": "s", "team": 1, "requester_email": "a@b.example", "tema": 1},
    ],
)
def test_ticket_create_input_validates_like_plain_drf(body: dict[str, Any]) -> None:
    fast, plain = TicketCreateInput(data=body), plain_twin(TicketCreateInput)(data=body)
    assert fast.is_valid() == plain.is_valid()
    assert fast.errors == plain.errors
    if not fast.errors:
        assert fast.validated_data == plain.validated_data
