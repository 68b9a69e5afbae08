"""Apply the same changes to many tickets at once: all of them, or none.

Every ticket is checked first (existence, permission, legal transition, target team and agent);
a single failure rejects the whole request with the list of failures and writes nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from p2pdesk.application.audit import record_changes
from p2pdesk.application.errors import ApplicationError, NotFound, ValidationFailed
from p2pdesk.application.misroutes import note_misroutes
from p2pdesk.application.principal import Principal
from p2pdesk.application.sla import SlaLookup
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.application.use_cases.update_ticket import TicketChanges, apply_changes
from p2pdesk.domain.errors import DomainError
from p2pdesk.domain.teams import Team
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_BULK_IDS = 10_000
_REPORTED_FAILURES = 50


@dataclass(frozen=True)
class BulkUpdateTickets:
    ticket_ids: list[uuid.UUID]
    changes: TicketChanges


@dataclass(frozen=True)
class BulkUpdateResult:
    matched: int
    updated: int  # tickets that actually changed


class BulkUpdateTicketsHandler:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    def __call__(self, command: BulkUpdateTickets, principal: Principal) -> BulkUpdateResult:
        principal.require_ticket_writer()
        ids = list(dict.fromkeys(command.ticket_ids))
        if not ids:
            raise ValidationFailed("ids must contain at least one ticket id", details={"field": "ids"})
        if len(ids) > MAX_BULK_IDS:
            raise ValidationFailed(
                f"at most {MAX_BULK_IDS} ids per bulk update, got {len(ids)}",
                details={"field": "ids", "limit": MAX_BULK_IDS},
            )
        return run_in_transaction(self._uow_factory, lambda uow: self._apply(uow, ids, command, principal))

    def _apply(
        self, uow: UnitOfWork, ids: list[uuid.UUID], command: BulkUpdateTickets, principal: Principal
    ) -> BulkUpdateResult:
        peek = uow.tickets.get_many(ids)
        visible = principal.scope.team_ids
        found = {t.id for t in peek if visible is None or t.team_id in visible}
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise NotFound(
                f"{len(missing)} of the ids are not tickets you can see; nothing was changed",
                details={"missing": missing[:_REPORTED_FAILURES]},
            )
        team_ids = {t.team_id for t in peek}
        if isinstance(command.changes.team_id, int):
            team_ids.add(command.changes.team_id)
        uow.assignment.lock_teams(sorted(team_ids))
        tickets = uow.tickets.get_many(ids, for_update=True)
        at = self._clock.now()
        failures: list[dict[str, Any]] = []
        resolutions: Counter[int] = Counter()
        teams: dict[int, Team] = {}
        sla = SlaLookup(uow)
        for ticket in tickets:
            try:
                resolved_by = apply_changes(
                    uow, ticket, command.changes, principal, at=at, teams=teams, sla=sla
                )
            except (DomainError, ApplicationError) as error:
                failures.append({"id": str(ticket.id), "code": error.code, "message": error.message})
                continue
            if resolved_by is not None:
                resolutions[resolved_by] += 1
        if failures:
            raise ValidationFailed(
                f"{len(failures)} of {len(tickets)} tickets cannot take these changes; nothing was changed",
                details={"failures": failures[:_REPORTED_FAILURES], "failed": len(failures)},
            )
        uow.assignment.record_resolutions(resolutions, at=at)
        if isinstance(command.changes.team_id, int):
            before = {t.id: t.team_id for t in peek}
            note_misroutes(uow, [(t.id, before[t.id], t.team_id) for t in tickets], at=at)
        changed = [t for t in tickets if t.has_changes]
        uow.tickets.save_many(changed)
        record_changes(uow, principal, at, changed)
        return BulkUpdateResult(matched=len(tickets), updated=len(changed))
