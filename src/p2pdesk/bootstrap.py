"""Composition root: the one place that picks adapters and builds the use cases with them.

Entrypoints (API, CLI) call `desk()`; tests build a Desk with fakes through `build_desk`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

from p2pdesk.application.principal import Principal, Role
from p2pdesk.application.use_cases.bulk_update_tickets import BulkUpdateTicketsHandler
from p2pdesk.application.use_cases.create_ticket import CreateTicketHandler
from p2pdesk.application.use_cases.manage_agents import AgentHandlers
from p2pdesk.application.use_cases.manage_teams import TeamHandlers
from p2pdesk.application.use_cases.reassign_tickets import ReassignTicketsHandler
from p2pdesk.application.use_cases.update_ticket import UpdateTicketHandler
from p2pdesk.domain.business_day import business_day
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.queries import AgentQueries, AuditQueries, TeamQueries, TicketQueries
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class DeskConfig:
    time_zone: str = "UTC"  # the desk's business day for agent counters and new teams


@dataclass(frozen=True)
class Desk:
    create_ticket: CreateTicketHandler
    update_ticket: UpdateTicketHandler
    bulk_update_tickets: BulkUpdateTicketsHandler
    reassign_tickets: ReassignTicketsHandler
    teams: TeamHandlers
    agents: AgentHandlers
    ticket_queries: TicketQueries
    team_queries: TeamQueries
    agent_queries: AgentQueries
    audit_queries: AuditQueries


def build_desk(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    config: DeskConfig,
    *,
    ticket_queries: TicketQueries,
    team_queries: TeamQueries,
    agent_queries: AgentQueries,
    audit_queries: AuditQueries,
) -> Desk:
    return Desk(
        create_ticket=CreateTicketHandler(uow_factory, clock),
        update_ticket=UpdateTicketHandler(uow_factory, clock),
        bulk_update_tickets=BulkUpdateTicketsHandler(uow_factory, clock),
        reassign_tickets=ReassignTicketsHandler(uow_factory, clock),
        teams=TeamHandlers(uow_factory, clock, default_timezone=config.time_zone),
        agents=AgentHandlers(uow_factory, clock),
        ticket_queries=ticket_queries,
        team_queries=team_queries,
        agent_queries=agent_queries,
        audit_queries=audit_queries,
    )


@cache
def desk() -> Desk:
    """The desk wired to Django persistence; built on first use, never at import time."""
    from django.conf import settings

    from p2pdesk.infrastructure.events.metrics import PrometheusEventPublisher
    from p2pdesk.infrastructure.persistence.queries import (
        DjangoAgentQueries,
        DjangoAuditQueries,
        DjangoTeamQueries,
        DjangoTicketQueries,
    )
    from p2pdesk.infrastructure.persistence.unit_of_work import DjangoUnitOfWork

    config = DeskConfig(time_zone=settings.P2PDESK_TIME_ZONE)
    clock = SystemClock()
    publisher = PrometheusEventPublisher()

    def uow_factory() -> UnitOfWork:
        return DjangoUnitOfWork(desk_timezone=config.time_zone, publisher=publisher)

    def desk_today() -> date:
        return business_day(config.time_zone, clock.now())

    return build_desk(
        uow_factory,
        clock,
        config,
        ticket_queries=DjangoTicketQueries(),
        team_queries=DjangoTeamQueries(),
        agent_queries=DjangoAgentQueries(desk_today),
        audit_queries=DjangoAuditQueries(),
    )


def principal_for(user: object) -> Principal | None:
    from p2pdesk.infrastructure.persistence.accounts import principal_for as lookup

    return lookup(user)  # type: ignore[arg-type]


def issue_api_token(email: str, role: Role) -> str:
    from p2pdesk.infrastructure.persistence.accounts import issue_api_token as issue

    return issue(email, role)


def database_ready() -> tuple[bool, str]:
    from p2pdesk.infrastructure.persistence.health import check_database

    return check_database()
