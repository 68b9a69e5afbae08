"""The bulk write paths (set-based UPDATE, audit by COPY on PostgreSQL) keep tickets and audit exact."""

from __future__ import annotations

import pytest

from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.application.use_cases.reassign_tickets import ReassignTickets
from p2pdesk.infrastructure.persistence.models import AgentRecord, AuditEventRecord, TicketRecord
from p2pdesk.infrastructure.persistence.repositories import DjangoAuditLog

pytestmark = pytest.mark.django_db


def test_reassigning_more_tickets_than_the_copy_threshold_audits_each_one() -> None:
    desk = bootstrap.desk()
    team = desk.teams.create(CreateTeam(name="Accounts Payable"), SYSTEM)
    leaving = desk.agents.create(CreateAgent(email="l@p2p.example", name="L", team_ids=[team]), SYSTEM)
    count = DjangoAuditLog.COPY_THRESHOLD + 100
    TicketRecord.objects.bulk_create(
        [
            TicketRecord(
                number=n,
                subject=f"Invoice {n}",
                team_id=team,
                agent_id=leaving,
                status="open",
                created_at="2026-11-20T09:00:00Z",
                updated_at="2026-11-20T09:00:00Z",
            )
            for n in range(1, count + 1)
        ]
    )
    receivers = [
        desk.agents.create(CreateAgent(email=f"r{n}@p2p.example", name="R", team_ids=[team]), SYSTEM)
        for n in range(3)
    ]
    result = desk.reassign_tickets(ReassignTickets(agent_ids=[leaving]), SYSTEM)

    assert result.moved == count
    assert sorted(result.received.values()) == [200, 200, 200]
    assert not TicketRecord.objects.filter(agent_id=leaving).exists()
    events = AuditEventRecord.objects.filter(action="ticket.assigned", after__reason="reassigned")
    assert events.count() == count
    sample = events.order_by("id").first()
    assert sample is not None
    assert sample.before == {"agent": leaving}
    assert sample.after["agent"] in receivers
    totals = dict(AgentRecord.objects.filter(id__in=receivers).values_list("id", "total_assigned"))
    assert totals == dict.fromkeys(receivers, 200)
