"""Django ORM implementations of the repository ports: rows in, entities out."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower

from p2pdesk.application.errors import IdempotencyRace
from p2pdesk.domain.agents import Agent
from p2pdesk.domain.teams import Team
from p2pdesk.domain.tickets import Priority, Reference, Ticket, TicketSource, TicketStatus
from p2pdesk.infrastructure.persistence import fast_sql
from p2pdesk.infrastructure.persistence.group import (
    current_group,
    held_back,
    insert_by_group_end,
    read_once_per_group,
    replace_held_back,
    see_held_back,
)
from p2pdesk.infrastructure.persistence.models import (
    ACTIVE_STATUSES,
    AgentRecord,
    AuditEventRecord,
    IdempotencyKeyRecord,
    MembershipRecord,
    TeamRecord,
    TicketRecord,
)
from p2pdesk.infrastructure.persistence.sla import SLA_FIELDS, sla_columns, sla_of
from p2pdesk.ports.repositories import ActiveTicketRef, AuditEntry, IdempotencyRecord

T = TypeVar("T")

# SQLite caps bound parameters per statement; PostgreSQL takes far more, but batches keep memory flat.
BATCH = 900 if connection.vendor == "sqlite" else 5000


def batched(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DjangoTeamRepository:
    def add(self, team: Team) -> None:
        row = TeamRecord.objects.create(
            name=team.name, description=team.description, timezone=team.timezone, is_active=team.is_active
        )
        team.id = row.id

    def get(self, team_id: int) -> Team | None:
        # Plain SQL: every ticket create reads its team (see fast_sql).
        row = read_once_per_group(
            fast_sql.fetch_one,
            "SELECT id, name, description, timezone, is_active, deleted_at FROM p2pdesk_team WHERE id = %s",
            [team_id],
        )
        if row is None:
            return None
        id_, name, description, timezone, is_active, deleted_at = row
        return Team(
            id=id_,
            name=name,
            description=description,
            timezone=timezone,
            is_active=bool(is_active),
            deleted_at=fast_sql.aware(deleted_at),
        )

    def get_many(self, team_ids: Sequence[int]) -> list[Team]:
        return [_team(row) for row in TeamRecord.objects.filter(id__in=team_ids).order_by("id")]

    def save(self, team: Team) -> None:
        TeamRecord.objects.filter(id=team.id).update(
            name=team.name,
            description=team.description,
            timezone=team.timezone,
            is_active=team.is_active,
            deleted_at=team.deleted_at,
        )

    def live_name_taken(self, name: str, *, exclude_id: int | None = None) -> bool:
        rows = TeamRecord.objects.annotate(lname=Lower("name")).filter(
            lname=name.lower(), deleted_at__isnull=True
        )
        return rows.exclude(id=exclude_id).exists()


def _team(row: TeamRecord) -> Team:
    return Team(
        id=row.id,
        name=row.name,
        description=row.description,
        timezone=row.timezone,
        is_active=row.is_active,
        deleted_at=row.deleted_at,
    )


class DjangoAgentRepository:
    def add(self, agent: Agent) -> None:
        row = AgentRecord.objects.create(email=agent.email, name=agent.name, is_active=agent.is_active)
        agent.id = row.id
        MembershipRecord.objects.bulk_create(
            [
                MembershipRecord(team_id=t, agent_id=row.id, available=agent.is_available)
                for t in agent.team_ids
            ]
        )

    def get(self, agent_id: int, *, for_update: bool = False) -> Agent | None:
        rows = AgentRecord.objects.filter(id=agent_id)
        if for_update:
            rows = rows.select_for_update(no_key=True)
        row = rows.first()
        return self._agents([row])[0] if row else None

    def get_many(self, agent_ids: Sequence[int]) -> list[Agent]:
        return self._agents(list(AgentRecord.objects.filter(id__in=agent_ids).order_by("id")))

    def save(self, agent: Agent) -> None:
        AgentRecord.objects.filter(id=agent.id).update(
            email=agent.email, name=agent.name, is_active=agent.is_active, deleted_at=agent.deleted_at
        )
        # Memberships are kept for history; the pool's `available` flag says who takes tickets.
        current = set(
            MembershipRecord.objects.filter(agent_id=agent.id, team__deleted_at__isnull=True).values_list(
                "team_id", flat=True
            )
        )
        MembershipRecord.objects.filter(agent_id=agent.id, team_id__in=current - agent.team_ids).delete()
        MembershipRecord.objects.bulk_create(
            [MembershipRecord(team_id=t, agent_id=agent.id) for t in agent.team_ids - current],
            ignore_conflicts=True,
        )

    def live_email_taken(self, email: str, *, exclude_id: int | None = None) -> bool:
        rows = AgentRecord.objects.annotate(lemail=Lower("email")).filter(
            lemail=email.lower(), deleted_at__isnull=True
        )
        return rows.exclude(id=exclude_id).exists()

    @staticmethod
    def _agents(rows: list[AgentRecord]) -> list[Agent]:
        teams: dict[int, set[int]] = {row.id: set() for row in rows}
        memberships = MembershipRecord.objects.filter(
            agent_id__in=list(teams), team__deleted_at__isnull=True
        ).values_list("agent_id", "team_id")
        for agent_id, team_id in memberships:
            teams[agent_id].add(team_id)
        return [
            Agent(
                id=row.id,
                email=row.email,
                name=row.name,
                team_ids=frozenset(teams[row.id]),
                is_active=row.is_active,
                deleted_at=row.deleted_at,
            )
            for row in rows
        ]


_TICKET_FIELDS = ["team_id", "agent_id", "status", "priority", "updated_at", "resolved_at", "subject"]


class DjangoTicketRepository:
    def next_number(self) -> int:
        row = fast_sql.fetch_one("INSERT INTO p2pdesk_ticket_number DEFAULT VALUES RETURNING id", [])
        assert row is not None
        return int(row[0])

    # Inside a commit group (mail intake) a new ticket's row is held back till the group's end
    # (group.py). What intake does in a group (get, save, id_by_number, count_opened_by) also looks at
    # the held-back rows; every other method writes them out first (see_held_back).
    def add(self, ticket: Ticket) -> None:
        if current_group() is not None:
            insert_by_group_end([_ticket_row(ticket)])
        else:
            fast_sql.insert_later(_ticket_row(ticket))  # with the next statement or the COMMIT

    def get(self, ticket_id: uuid.UUID, *, for_update: bool = False) -> Ticket | None:
        for held in held_back(TicketRecord):
            if held.id == ticket_id:  # this group's new ticket: nobody else sees it, nothing to lock
                return _ticket(held)
        rows = TicketRecord.objects.filter(id=ticket_id)
        if for_update:
            rows = rows.select_for_update(no_key=True)
        row = rows.first()
        return _ticket(row) if row else None

    def id_by_number(self, number: int) -> uuid.UUID | None:
        for held in held_back(TicketRecord):
            if held.number == number:
                return held.id
        return TicketRecord.objects.filter(number=number).values_list("id", flat=True).first()

    def get_many(self, ticket_ids: Sequence[uuid.UUID], *, for_update: bool = False) -> list[Ticket]:
        see_held_back(TicketRecord)
        tickets: list[Ticket] = []
        # Locks are taken in id order in every batch so two bulk updates cannot deadlock each other.
        for chunk in batched(sorted(ticket_ids)):
            rows = TicketRecord.objects.filter(id__in=chunk).order_by("id")
            if for_update:
                rows = rows.select_for_update(no_key=True)
            tickets.extend(_ticket(row) for row in rows)
        return tickets

    def save(self, ticket: Ticket) -> None:
        row = _ticket_row(ticket)
        if replace_held_back(row):
            return
        fields = [*_TICKET_FIELDS, *SLA_FIELDS]
        TicketRecord.objects.filter(id=ticket.id).update(**{f: getattr(row, f) for f in fields})

    def save_many(self, tickets: Sequence[Ticket]) -> None:
        see_held_back(TicketRecord)
        # Twelve SLA columns more per row in the CASE expressions: only when some clock moved.
        fields = [*_TICKET_FIELDS, *SLA_FIELDS] if any(t.sla_changed for t in tickets) else _TICKET_FIELDS
        TicketRecord.objects.bulk_update([_ticket_row(t) for t in tickets], fields, batch_size=1000)

    def active_of_agents(self, agent_ids: Sequence[int]) -> list[ActiveTicketRef]:
        see_held_back(TicketRecord)
        rows = TicketRecord.objects.filter(agent_id__in=agent_ids, status__in=ACTIVE_STATUSES)
        rows = rows.select_for_update(no_key=True)
        return [
            ActiveTicketRef(id=i, team_id=t, agent_id=a)
            for i, t, a in rows.order_by("priority", "created_at", "id").values_list(
                "id", "team_id", "agent_id"
            )
        ]

    def count_opened_by(self, requester_email: str, *, source: str, since: datetime) -> int:
        held = sum(
            1
            for row in held_back(TicketRecord)
            if row.requester_email == requester_email and row.source == source and row.created_at >= since
        )
        rows = TicketRecord.objects.filter(
            requester_email=requester_email, created_at__gte=since, source=source
        )
        return held + rows.count()

    def teams_with_active_tickets(self, agent_ids: Sequence[int]) -> set[int]:
        see_held_back(TicketRecord)
        rows = TicketRecord.objects.filter(agent_id__in=agent_ids, status__in=ACTIVE_STATUSES)
        return set(rows.order_by().values_list("team_id", flat=True).distinct())

    def unassigned_backlog(self, team_id: int) -> list[ActiveTicketRef]:
        see_held_back(TicketRecord)
        rows = TicketRecord.objects.filter(team_id=team_id, agent__isnull=True, status__in=ACTIVE_STATUSES)
        rows = rows.select_for_update(no_key=True).order_by("priority", "created_at", "id")
        return [
            ActiveTicketRef(id=i, team_id=team_id, agent_id=None) for i in rows.values_list("id", flat=True)
        ]

    def active_ids_in_team(self, team_id: int) -> list[uuid.UUID]:
        see_held_back(TicketRecord)
        rows = TicketRecord.objects.filter(team_id=team_id, status__in=ACTIVE_STATUSES)
        return list(rows.values_list("id", flat=True))

    def reassign_bulk(self, changes: Sequence[tuple[uuid.UUID, int | None]], *, at: datetime) -> None:
        see_held_back(TicketRecord)
        if not changes:
            return
        if connection.vendor == "postgresql":
            # One statement per batch, the arrays bound server-side in binary (Django's client-side
            # cursor would quote 100,000 ids one by one): 100,000 tickets change hands in seconds.
            fast_sql.flush_later()  # the raw connection: queued writes go first
            connection.ensure_connection()
            with connection.connection.cursor() as cursor:
                for chunk in batched(changes, 20_000):
                    cursor.execute(
                        "UPDATE p2pdesk_ticket AS t SET agent_id = c.agent_id, updated_at = %s"
                        " FROM unnest(%s::uuid[], %s::bigint[]) AS c(id, agent_id) WHERE t.id = c.id",
                        [at, [c[0] for c in chunk], [c[1] for c in chunk]],
                    )
            return
        rows = [
            TicketRecord(id=ticket_id, agent_id=agent_id, updated_at=at) for ticket_id, agent_id in changes
        ]
        TicketRecord.objects.bulk_update(rows, ["agent_id", "updated_at"], batch_size=400)


def _ticket(row: TicketRecord) -> Ticket:
    return Ticket(
        id=row.id,
        number=row.number,
        subject=row.subject,
        description=row.description,
        team_id=row.team_id,
        status=TicketStatus(row.status),
        priority=Priority(row.priority),
        requester_email=row.requester_email,
        source=TicketSource(row.source),
        reference=Reference(row.reference_type, row.reference_id) if row.reference_type else None,
        agent_id=row.agent_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        resolved_at=row.resolved_at,
        sla=sla_of(row),
        sla_state=row.sla_state or None,
    )


def _ticket_row(ticket: Ticket) -> TicketRecord:
    return TicketRecord(
        id=ticket.id,
        number=ticket.number,
        subject=ticket.subject,
        description=ticket.description,
        team_id=ticket.team_id,
        agent_id=ticket.agent_id,
        status=ticket.status.value,
        priority=int(ticket.priority),
        requester_email=ticket.requester_email,
        source=ticket.source.value,
        reference_type=ticket.reference.type if ticket.reference else "",
        reference_id=ticket.reference.id if ticket.reference else "",
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        resolved_at=ticket.resolved_at,
        **sla_columns(ticket),
    )


class DjangoAuditLog:
    # Past this many entries PostgreSQL gets them through COPY, several times faster than INSERT.
    COPY_THRESHOLD = 500
    LATER_MAX = 4  # up to this many (outside a commit group) go with the transaction's next statement

    def append(self, entries: Sequence[AuditEntry]) -> None:
        if connection.vendor == "postgresql" and len(entries) >= self.COPY_THRESHOLD:
            self._copy(entries)
            return
        rows = [
            AuditEventRecord(
                at=entry.at,
                actor=entry.actor,
                action=entry.event.action,
                entity_type=entry.event.entity_type,
                entity_id=entry.event.entity_id,
                before=entry.event.before,
                after=entry.event.after,
            )
            for entry in entries
        ]
        if current_group() is None and len(rows) <= self.LATER_MAX:
            for row in rows:  # a change's few events: sent with the next statement or the COMMIT
                fast_sql.insert_later(row)
            return
        for chunk in batched(rows, 100):
            insert_by_group_end(chunk)

    @staticmethod
    def _copy(entries: Sequence[AuditEntry]) -> None:
        fast_sql.flush_later()  # the raw connection: queued writes go first
        connection.ensure_connection()
        sql = "COPY p2pdesk_audit_event (at, actor, action, entity_type, entity_id, before, after) FROM STDIN"
        with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
            for entry in entries:
                event = entry.event
                copy.write_row(
                    (
                        entry.at,
                        entry.actor,
                        event.action,
                        event.entity_type,
                        event.entity_id,
                        json.dumps(event.before),
                        json.dumps(event.after),
                    )
                )


class DjangoIdempotencyStore:
    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = IdempotencyKeyRecord.objects.filter(scope=scope, key=key).first()
        return IdempotencyRecord(row.fingerprint, row.ticket_id) if row else None

    def add(self, scope: str, key: str, record: IdempotencyRecord) -> None:
        try:
            with transaction.atomic():
                IdempotencyKeyRecord.objects.create(
                    scope=scope, key=key, fingerprint=record.fingerprint, ticket_id=record.ticket_id
                )
        except IntegrityError as exc:
            raise IdempotencyRace(key) from exc
