"""The dashboard's aggregates, computed by the database on rows with known times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.infrastructure.persistence.models import TicketRecord
from p2pdesk.infrastructure.persistence.reports import DjangoReportQueries
from p2pdesk.ports.queries import Scope
from p2pdesk.ports.reports import DailyTeamCount, TeamBacklog

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def teams() -> tuple[int, int, int]:
    desk = bootstrap.desk()
    ap = desk.teams.create(CreateTeam(name="Accounts Payable"), SYSTEM)
    kyc = desk.teams.create(CreateTeam(name="KYC"), SYSTEM)
    agent = desk.agents.create(
        CreateAgent(email="a@p2p.example", name="Ana", team_ids=[ap], is_active=False), SYSTEM
    )
    numbers = iter(range(1, 1000))

    def ticket(team: int, age: timedelta, status: str = "open", resolved: datetime | None = None) -> None:
        TicketRecord.objects.create(
            number=next(numbers),
            subject="s",
            team_id=team,
            agent_id=agent if team == ap else None,
            status=status,
            created_at=NOW - age,
            updated_at=NOW,
            resolved_at=resolved,
        )

    ticket(ap, timedelta(hours=2))  # under 1 day
    ticket(ap, timedelta(hours=30))  # 1-3 days
    ticket(ap, timedelta(days=5), status="pending")  # 3-7 days
    ticket(ap, timedelta(days=9))  # over 7 days
    ticket(ap, timedelta(days=2), status="resolved", resolved=NOW - timedelta(hours=1))
    ticket(kyc, timedelta(hours=1), status="closed", resolved=NOW - timedelta(minutes=30))
    # 18 Nov 23:30 UTC is already 19 Nov in Berlin.
    ticket(ap, timedelta(hours=36, minutes=30), status="closed", resolved=NOW - timedelta(days=1))
    return ap, kyc, agent


def test_opened_and_resolved_per_team_per_day_in_the_desk_time_zone(teams: tuple[int, int, int]) -> None:
    ap, kyc, _ = teams
    reports = DjangoReportQueries("Europe/Berlin")
    since = NOW - timedelta(days=3)
    assert reports.opened_per_day(since=since, scope=Scope(None)) == [
        DailyTeamCount(ap, date(2026, 11, 18), 1),
        DailyTeamCount(ap, date(2026, 11, 19), 2),
        DailyTeamCount(ap, date(2026, 11, 20), 1),
        DailyTeamCount(kyc, date(2026, 11, 20), 1),
    ]
    utc_days = DjangoReportQueries("UTC").opened_per_day(since=since, scope=Scope(frozenset({ap})))
    assert [(c.day.day, c.count) for c in utc_days] == [(18, 2), (19, 1), (20, 1)]
    assert reports.resolved_per_day(since=since, scope=Scope(frozenset({kyc}))) == [
        DailyTeamCount(kyc, date(2026, 11, 20), 1)
    ]


def test_backlog_by_age_counts_active_tickets_per_bucket(teams: tuple[int, int, int]) -> None:
    ap, kyc, _ = teams
    reports = DjangoReportQueries("UTC")
    assert reports.backlog_by_age(now=NOW, scope=Scope(None)) == [TeamBacklog(ap, (1, 1, 1, 1))]
    assert reports.backlog_by_age(now=NOW, scope=Scope(frozenset({kyc}))) == []


def test_load_names_and_no_sla_adherence_without_policies(teams: tuple[int, int, int]) -> None:
    _, _, agent = teams
    reports = DjangoReportQueries("UTC")
    assert reports.active_load([agent, 999]) == {agent: 4}
    assert reports.agent_names([agent]) == {agent: "Ana"}
    assert reports.sla_adherence(since=NOW - timedelta(days=30), scope=Scope(None)) == []
