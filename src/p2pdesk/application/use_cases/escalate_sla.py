"""Find tickets whose SLA reached a threshold (at risk, breached) and run their policy's escalation.

Runs on a schedule, possibly in several workers at once. Each ticket is handled in its own
transaction under its team lock and row lock; each (ticket, threshold) escalation is claimed in
storage first (unique), so it runs and is audited exactly once however many workers race for it.
Team-lead emails go out only after the commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from p2pdesk.application.audit import record_events
from p2pdesk.application.outbound import AUTO_REPLY_HEADERS, new_message_id, send_after_commit
from p2pdesk.application.principal import Principal, Role
from p2pdesk.application.sla import SlaLookup
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.application.use_cases.post_ticket_message import OutboundConfig
from p2pdesk.domain.assignment import choose_agent
from p2pdesk.domain.business_day import start_of_business_day, zone
from p2pdesk.domain.calendars import BusinessCalendar
from p2pdesk.domain.events import DomainEvent
from p2pdesk.domain.sla import EscalationAction, Threshold
from p2pdesk.domain.tickets import Priority, Ticket
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.mail import Mailer, OutboundEmail
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

SLA_ACTOR = Principal(actor="system:sla", role=Role.ADMIN)
DEFAULT_BATCH = 500

LEAD_EMAIL = (
    "Ticket {number} ({subject}) {what}.\n\n"
    "Team: {team}\nPriority: {priority}\nFirst response due: {first_response_due}\n"
    "Resolution due: {resolution_due}\n\n"
    "This is an automatic SLA escalation from p2pdesk."
)


@dataclass(frozen=True)
class EscalateSla:
    limit: int = DEFAULT_BATCH  # tickets looked at per run; the next run takes the rest


@dataclass(frozen=True)
class Escalation:
    ticket_id: uuid.UUID
    threshold: str
    outcomes: dict[str, str]


@dataclass(frozen=True)
class EscalationRun:
    checked: int
    escalations: list[Escalation] = field(default_factory=list)
    # Tickets whose check failed (id, error): left due, so the next run tries them again.
    failures: list[tuple[uuid.UUID, str]] = field(default_factory=list)


class EscalateSlaHandler:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, mailer: Mailer, outbound: OutboundConfig
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._mailer = mailer
        self._outbound = outbound

    def __call__(self, command: EscalateSla) -> EscalationRun:
        with self._uow_factory() as uow:
            due = uow.sla.tickets_due_for_check(self._clock.now(), limit=command.limit)
        escalations: list[Escalation] = []
        failures: list[tuple[uuid.UUID, str]] = []
        for ticket_id in due:
            try:
                escalations.extend(
                    run_in_transaction(self._uow_factory, partial(self._check, ticket_id=ticket_id))
                )
            except Exception as error:  # one broken ticket must not stop the others' escalations
                failures.append((ticket_id, f"{type(error).__name__}: {error}"))
        return EscalationRun(checked=len(due), escalations=escalations, failures=failures)

    def _check(self, uow: UnitOfWork, *, ticket_id: uuid.UUID) -> list[Escalation]:
        peek = uow.tickets.get(ticket_id)
        if peek is None or peek.sla is None:
            return []
        uow.assignment.lock_teams([peek.team_id])  # team before ticket row: the global lock order
        ticket = uow.tickets.get(ticket_id, for_update=True)
        assert ticket is not None
        assert ticket.sla is not None
        if ticket.team_id != peek.team_id:
            return []  # moved meanwhile; the next run looks at it under the right lock
        at = self._clock.now()
        lookup = SlaLookup(uow)
        policy = lookup.policy(ticket.sla.policy_id)
        sla = ticket.sla
        done: list[Escalation] = []
        events: list[DomainEvent] = []
        for threshold in sla.thresholds_reached(at):
            sla = sla.mark_escalated(threshold)
            if not uow.sla.record_escalation(ticket.id, threshold, at=at):
                continue  # claimed before (another worker, an earlier run): never twice
            outcomes = {
                action.value: self._act(
                    uow, ticket, action, threshold, lookup.calendar(policy.calendar_id), at
                )
                for action in policy.actions_for(threshold)
            }
            done.append(Escalation(ticket.id, threshold.value, outcomes))
            events.append(
                DomainEvent(
                    action="ticket.sla_escalated",
                    entity_type="ticket",
                    entity_id=str(ticket.id),
                    after={"threshold": threshold.value, "policy": policy.id, "actions": outcomes},
                    team_id=ticket.team_id,
                )
            )
        ticket.track_sla(sla, at=at)
        uow.tickets.save(ticket)
        record_events(uow, SLA_ACTOR, at, [*ticket.pull_events(), *events])
        return done

    def _act(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        action: EscalationAction,
        threshold: Threshold,
        calendar: BusinessCalendar,
        at: datetime,
    ) -> str:
        """Run one action; the returned outcome goes into the audit record."""
        if action == EscalationAction.RAISE_PRIORITY:
            if ticket.priority == Priority.URGENT:
                return "already urgent"
            before = ticket.priority
            ticket.change_priority(Priority(before - 1), at=at)
            return f"priority {int(before)} -> {int(ticket.priority)}"
        if action == EscalationAction.REASSIGN:
            return self._reassign(uow, ticket, at)
        return self._notify_leads(uow, ticket, threshold, calendar)

    @staticmethod
    def _reassign(uow: UnitOfWork, ticket: Ticket, at: datetime) -> str:
        team = uow.teams.get(ticket.team_id)
        assert team is not None
        assert team.id is not None
        day_start = start_of_business_day(team.timezone, at)
        others = [
            load
            for load in uow.assignment.loads(team.id, day_start=day_start)
            if load.agent_id != ticket.agent_id
        ]
        chosen = choose_agent(others)
        if (
            chosen is None
            or uow.assignment.lock_and_reload(team.id, chosen.agent_id, day_start=day_start) is None
        ):
            return "no other available agent"
        before = ticket.agent_id
        ticket.assign(chosen.agent_id, at=at, reason="SLA escalation")
        uow.assignment.record_assignments({chosen.agent_id: 1}, at=at)
        return f"agent {before} -> {chosen.agent_id}"

    def _notify_leads(
        self, uow: UnitOfWork, ticket: Ticket, threshold: Threshold, calendar: BusinessCalendar
    ) -> str:
        leads = uow.sla.team_lead_emails(ticket.team_id)
        if not leads:
            return "no team lead to email"
        team = uow.teams.get(ticket.team_id)
        assert ticket.sla is not None
        what = (
            f"has breached its {threshold.target.value.replace('_', ' ')} target"
            if threshold.breached
            else (f"is at risk of missing its {threshold.target.value.replace('_', ' ')} target")
        )
        local: dict[str, str] = {
            name: clock.due.astimezone(zone(calendar.timezone)).strftime("%Y-%m-%d %H:%M %Z")
            for name, clock in (
                ("first_response_due", ticket.sla.first_response),
                ("resolution_due", ticket.sla.resolution),
            )
        }
        email = OutboundEmail(
            from_address=self._outbound.reply_from,
            to=tuple(leads),
            subject=f"[{ticket.display_number}] SLA {threshold.value.replace('_', ' ')}: {ticket.subject}",
            text=LEAD_EMAIL.format(
                number=ticket.display_number,
                subject=ticket.subject,
                what=what,
                team=team.name if team else ticket.team_id,
                priority=int(ticket.priority),
                **local,
            ),
            message_id=new_message_id(ticket, self._outbound.mail_domain),
            headers=AUTO_REPLY_HEADERS,
        )
        send_after_commit(uow, self._mailer, email)
        return "emailed " + ", ".join(leads)
