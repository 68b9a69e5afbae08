"""SLA storage: calendars, policies, escalation claims, team leads, and a ticket's SLA columns."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from p2pdesk.domain.calendars import BusinessCalendar
from p2pdesk.domain.sla import EscalationAction, SlaPolicy, Target, TargetClock, Threshold, TicketSla
from p2pdesk.domain.tickets import Priority, Ticket
from p2pdesk.infrastructure.persistence import fast_sql
from p2pdesk.infrastructure.persistence.group import read_once_per_group
from p2pdesk.infrastructure.persistence.models import (
    AgentRecord,
    CalendarRecord,
    SlaEscalationRecord,
    SlaPolicyRecord,
    TicketRecord,
    UserRoleRecord,
)

# The ticket columns SlaColumns writes; the ticket repository saves them with the rest.
SLA_FIELDS = [
    "sla_policy_id",
    "sla_state",
    "first_response_due",
    "first_response_at_risk_at",
    "first_responded_at",
    "resolution_due",
    "resolution_at_risk_at",
    "sla_stopped_at",
    "sla_resolved",
    "sla_breached",
    "sla_escalated",
    "sla_next_check_at",
]


def sla_columns(ticket: Ticket) -> dict[str, Any]:
    sla = ticket.sla
    if sla is None:
        return dict.fromkeys(SLA_FIELDS) | {
            "sla_state": "",
            "sla_resolved": False,
            "sla_breached": [],
            "sla_escalated": [],
        }
    return {
        "sla_policy_id": sla.policy_id,
        "sla_state": ticket.sla_state or "",
        "first_response_due": sla.first_response.due,
        "first_response_at_risk_at": sla.first_response.at_risk_at,
        "first_responded_at": sla.first_responded_at,
        "resolution_due": sla.resolution.due,
        "resolution_at_risk_at": sla.resolution.at_risk_at,
        "sla_stopped_at": sla.stopped_at,
        "sla_resolved": sla.resolved,
        "sla_breached": sorted(t.value for t in sla.breached),
        "sla_escalated": sorted(t.value for t in sla.escalated),
        "sla_next_check_at": sla.next_check_at(),
    }


def sla_of(row: TicketRecord) -> TicketSla | None:
    if row.sla_policy_id is None:
        return None
    assert row.first_response_due is not None
    assert row.first_response_at_risk_at is not None
    assert row.resolution_due is not None
    assert row.resolution_at_risk_at is not None
    return TicketSla(
        policy_id=row.sla_policy_id,
        first_response=TargetClock(row.first_response_due, row.first_response_at_risk_at),
        resolution=TargetClock(row.resolution_due, row.resolution_at_risk_at),
        first_responded_at=row.first_responded_at,
        stopped_at=row.sla_stopped_at,
        resolved=row.sla_resolved,
        breached=frozenset(Target(t) for t in row.sla_breached),
        escalated=frozenset(Threshold(t) for t in row.sla_escalated),
    )


_POLICY_FOR_SQL = """
SELECT p.id, p.calendar_id, p.first_response_minutes, p.resolution_minutes, p.at_risk_share,
       p.at_risk_actions, p.breach_actions,
       c.name, c.timezone, c.working_days, c.start_minute, c.end_minute, c.holidays
FROM p2pdesk_sla_policy AS p JOIN p2pdesk_sla_calendar AS c ON c.id = p.calendar_id
WHERE p.team_id = %s AND p.priority = %s AND p.is_active
"""


def _json(value: Any) -> Any:
    """JSON columns come back from a plain cursor as text (SQLite, and Django's jsonb loader)."""
    return json.loads(value) if isinstance(value, str) else value


def calendar_of_row(row: CalendarRecord) -> BusinessCalendar:
    return BusinessCalendar(
        name=row.name,
        timezone=row.timezone,
        working_days=frozenset(row.working_days),
        start_minute=row.start_minute,
        end_minute=row.end_minute,
        holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
        id=row.id,
    )


def _calendar_columns(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "name": calendar.name,
        "timezone": calendar.timezone,
        "working_days": sorted(calendar.working_days),
        "start_minute": calendar.start_minute,
        "end_minute": calendar.end_minute,
        "holidays": [d.isoformat() for d in sorted(calendar.holidays)],
    }


def policy_of_row(row: SlaPolicyRecord) -> SlaPolicy:
    return SlaPolicy(
        team_id=row.team_id,
        priority=Priority(row.priority),
        calendar_id=row.calendar_id,
        first_response_minutes=row.first_response_minutes,
        resolution_minutes=row.resolution_minutes,
        at_risk_share=row.at_risk_share,
        at_risk_actions=tuple(EscalationAction(a) for a in row.at_risk_actions),
        breach_actions=tuple(EscalationAction(a) for a in row.breach_actions),
        is_active=row.is_active,
        id=row.id,
    )


def _policy_columns(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "team_id": policy.team_id,
        "priority": int(policy.priority),
        "calendar_id": policy.calendar_id,
        "first_response_minutes": policy.first_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "at_risk_share": policy.at_risk_share,
        "at_risk_actions": [a.value for a in policy.at_risk_actions],
        "breach_actions": [a.value for a in policy.breach_actions],
        "is_active": policy.is_active,
    }


class DjangoSlaRepository:
    def __init__(self) -> None:
        # Calendars read with a policy in this unit of work: opening a ticket costs one query, not two.
        self._calendars: dict[int, BusinessCalendar] = {}

    def calendar(self, calendar_id: int) -> BusinessCalendar | None:
        if calendar_id in self._calendars:
            return self._calendars[calendar_id]
        row = CalendarRecord.objects.filter(id=calendar_id).first()
        return calendar_of_row(row) if row else None

    def calendars(self) -> list[BusinessCalendar]:
        return [calendar_of_row(row) for row in CalendarRecord.objects.order_by("id")]

    def calendar_name_taken(self, name: str, *, exclude_id: int | None = None) -> bool:
        rows = CalendarRecord.objects.annotate(lname=Lower("name")).filter(lname=name.lower())
        return rows.exclude(id=exclude_id).exists()

    def add_calendar(self, calendar: BusinessCalendar) -> int:
        return CalendarRecord.objects.create(**_calendar_columns(calendar)).id

    def save_calendar(self, calendar: BusinessCalendar) -> None:
        self._calendars.pop(calendar.id or 0, None)
        CalendarRecord.objects.filter(id=calendar.id).update(**_calendar_columns(calendar))

    def delete_calendar(self, calendar_id: int) -> None:
        self._calendars.pop(calendar_id, None)
        CalendarRecord.objects.filter(id=calendar_id).delete()

    def calendar_in_use(self, calendar_id: int) -> bool:
        return SlaPolicyRecord.objects.filter(calendar_id=calendar_id).exists()

    def policy(self, policy_id: int) -> SlaPolicy | None:
        row = SlaPolicyRecord.objects.filter(id=policy_id).first()
        return policy_of_row(row) if row else None

    def policies(self, *, team_ids: frozenset[int] | None = None) -> list[SlaPolicy]:
        rows = SlaPolicyRecord.objects.order_by("team_id", "priority")
        if team_ids is not None:
            rows = rows.filter(team_id__in=team_ids)
        return [policy_of_row(row) for row in rows]

    def policy_for(self, team_id: int, priority: Priority) -> SlaPolicy | None:
        # Plain SQL: every ticket opened (API or mail) looks its policy up (see fast_sql).
        row = read_once_per_group(fast_sql.fetch_one, _POLICY_FOR_SQL, [team_id, int(priority)])
        if row is None:
            return None
        (policy_id, calendar_id, first_response, resolution, share, at_risk, breach, *calendar) = row
        name, timezone, working_days, start_minute, end_minute, holidays = calendar
        # Unsaved records from the row, so the one conversion to domain objects serves both paths.
        calendar_row = CalendarRecord(
            id=calendar_id,
            name=name,
            timezone=timezone,
            working_days=_json(working_days),
            start_minute=start_minute,
            end_minute=end_minute,
            holidays=_json(holidays),
        )
        self._calendars[calendar_id] = calendar_of_row(calendar_row)
        policy_row = SlaPolicyRecord(
            id=policy_id,
            team_id=team_id,
            priority=int(priority),
            calendar_id=calendar_id,
            first_response_minutes=first_response,
            resolution_minutes=resolution,
            at_risk_share=share,
            at_risk_actions=_json(at_risk),
            breach_actions=_json(breach),
            is_active=True,
        )
        return policy_of_row(policy_row)

    def policy_taken(self, team_id: int, priority: Priority, *, exclude_id: int | None = None) -> bool:
        rows = SlaPolicyRecord.objects.filter(team_id=team_id, priority=int(priority))
        return rows.exclude(id=exclude_id).exists()

    def add_policy(self, policy: SlaPolicy) -> int:
        return SlaPolicyRecord.objects.create(**_policy_columns(policy)).id

    def save_policy(self, policy: SlaPolicy) -> None:
        SlaPolicyRecord.objects.filter(id=policy.id).update(**_policy_columns(policy))

    def tickets_due_for_check(self, now: datetime, *, limit: int) -> list[uuid.UUID]:
        rows = TicketRecord.objects.filter(sla_next_check_at__lte=now).order_by("sla_next_check_at")
        return list(rows.values_list("id", flat=True)[:limit])

    def record_escalation(self, ticket_id: uuid.UUID, threshold: Threshold, *, at: datetime) -> bool:
        try:
            with transaction.atomic():  # a savepoint: a duplicate leaves the outer transaction usable
                SlaEscalationRecord.objects.create(ticket_id=ticket_id, threshold=threshold.value, at=at)
        except IntegrityError:
            return False
        return True

    def team_lead_emails(self, team_id: int) -> list[str]:
        """Team-lead users whose agent (same email) is a live member of the team."""
        # An inactive lead takes no tickets but still leads; a deleted one does not.
        members = AgentRecord.objects.filter(memberships__team_id=team_id, deleted_at__isnull=True)
        emails = {e.lower() for e in members.values_list("email", flat=True)}
        user_model = get_user_model()
        lead_users = UserRoleRecord.objects.filter(role="team_lead").values_list("user_id", flat=True)
        leads = user_model.objects.filter(pk__in=lead_users).values_list("email", "username")
        return sorted({(email or username).lower() for email, username in leads} & emails)
