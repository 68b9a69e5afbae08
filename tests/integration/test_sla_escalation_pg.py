"""SLA escalation with several workers at once on PostgreSQL: every (ticket, threshold) escalates once.

Four threads, each with its own database connection, run the real escalation use case at the same
moment over the same overdue tickets. Whatever the interleaving, each ticket gets exactly one claim,
one audit record and one team-lead email per threshold, and its priority is raised once per breach.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM, Role
from p2pdesk.application.use_cases.create_ticket import CreateTicket
from p2pdesk.application.use_cases.escalate_sla import EscalateSla
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_sla import SaveCalendar, SavePolicy
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.infrastructure.persistence.models import AuditEventRecord, SlaEscalationRecord, TicketRecord

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 4
TICKETS = 12


def test_concurrent_workers_escalate_each_ticket_and_threshold_once() -> None:
    desk = bootstrap.desk()
    team = desk.teams.create(CreateTeam(name="Payments"), SYSTEM)
    for n in range(3):
        desk.agents.create(CreateAgent(email=f"p{n}@p2pdesk.example", name=f"P{n}", team_ids=[team]), SYSTEM)
    desk.agents.create(CreateAgent(email="lead@p2pdesk.example", name="Lead", team_ids=[team]), SYSTEM)
    bootstrap.issue_api_token("lead@p2pdesk.example", Role.TEAM_LEAD)
    calendar = desk.sla_settings.create_calendar(
        SaveCalendar("24/7", "UTC", list(range(7)), "00:00", "24:00"), SYSTEM
    )
    desk.sla_settings.create_policy(
        SavePolicy(
            team_id=team,
            priority=3,
            calendar_id=calendar,
            first_response_minutes=30,
            resolution_minutes=600,
            breach_actions=["notify_team_lead", "raise_priority", "reassign"],
        ),
        SYSTEM,
    )
    command = CreateTicket(
        subject="Payment run failed", description="", team_id=team, requester_email="v@x.example"
    )
    ids = [desk.create_ticket(command, SYSTEM).ticket.id for _ in range(TICKETS)]
    # As if opened an hour ago: the first response is overdue, the resolution is not yet at risk.
    for row in TicketRecord.objects.filter(id__in=ids):
        hour = timedelta(hours=1)
        TicketRecord.objects.filter(id=row.id).update(
            first_response_due=row.first_response_due - hour,
            first_response_at_risk_at=row.first_response_at_risk_at - hour,
            sla_next_check_at=row.sla_next_check_at - hour,
        )

    barrier = threading.Barrier(WORKERS)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(bootstrap.desk().escalate_sla(EscalateSla()))
        except BaseException as error:  # reported below; a thread must not swallow it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == WORKERS

    claims = Counter(SlaEscalationRecord.objects.values_list("ticket_id", "threshold"))
    expected = {(i, t) for i in ids for t in ("first_response.at_risk", "first_response.breached")}
    assert set(claims) == expected
    assert set(claims.values()) == {1}
    reported = Counter((e.ticket_id, e.threshold) for run in results for e in run.escalations)
    assert reported == Counter(dict.fromkeys(expected, 1))
    audited = AuditEventRecord.objects.filter(action="ticket.sla_escalated")
    assert audited.count() == len(expected)
    assert len(mail.outbox) == len(expected)
    assert all(m.to == ["lead@p2pdesk.example"] for m in mail.outbox)
    rows = TicketRecord.objects.filter(id__in=ids)
    assert {(r.priority, r.sla_state) for r in rows} == {(2, "breached")}  # raised once, not per worker
    assert all(r.sla_next_check_at is not None for r in rows)  # the resolution thresholds are still ahead
    assert bootstrap.desk().escalate_sla(EscalateSla()).escalations == []


def test_the_claim_itself_is_exclusive_between_open_transactions() -> None:
    """Without any row lock, two transactions claiming the same escalation: exactly one wins."""
    from django.db import transaction

    from p2pdesk.domain.sla import Threshold
    from p2pdesk.infrastructure.persistence.sla import DjangoSlaRepository

    desk = bootstrap.desk()
    team = desk.teams.create(CreateTeam(name="Risk"), SYSTEM)
    command = CreateTicket(
        subject="Sanctions hit", description="", team_id=team, requester_email="v@x.example"
    )
    ticket_id = desk.create_ticket(command, SYSTEM).ticket.id
    inserted = threading.Event()
    outcomes: list[bool] = []
    errors: list[BaseException] = []

    def claim(first: bool) -> None:
        try:
            with transaction.atomic():
                if not first:
                    inserted.wait(timeout=30)
                won = DjangoSlaRepository().record_escalation(
                    ticket_id,
                    Threshold.RESOLUTION_BREACHED,
                    at=TicketRecord.objects.get(id=ticket_id).created_at,
                )
                outcomes.append(won)
                if first:
                    inserted.set()
                    threading.Event().wait(0.5)  # hold the uncommitted claim while the other tries
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(first,)) for first in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(outcomes) == [False, True]
    assert SlaEscalationRecord.objects.filter(ticket_id=ticket_id).count() == 1
