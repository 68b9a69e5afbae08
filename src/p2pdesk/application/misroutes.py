"""A person moving a routed ticket to another team: a misroute to count, and an example to learn from."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from p2pdesk.domain.events import DomainEvent
from p2pdesk.ports.unit_of_work import UnitOfWork


def note_misroutes(uow: UnitOfWork, moves: Iterable[tuple[uuid.UUID, int, int]], *, at: datetime) -> None:
    """`moves` are (ticket, team before, team after); tickets that stayed put are skipped."""
    events = []
    for ticket_id, before, after in moves:
        if before == after or not uow.routing.was_routed(ticket_id):
            continue
        uow.routing.record_correction(ticket_id, before, after, at)
        events.append(
            DomainEvent(
                "routing.misroute",
                "routing",
                str(ticket_id),
                before={"team": before},
                after={"team": after},
                team_id=before,
            )
        )
    uow.publish_after_commit(events)
