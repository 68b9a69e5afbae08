"""Read side: filtered, keyset-paginated lists returning frozen views.

Filters are declared with django-filter, which validates the raw query parameters; pages are cut
by (created_at, id) keys rather than offsets, so page 1,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

import django_filters
from django.db.models import Model, Q, QuerySet

from p2pdesk.domain.sla import SlaState
from p2pdesk.infrastructure.persistence.models import (
    AgentRecord,
    AuditEventRecord,
    TeamRecord,
    TicketRecord,
    TicketReferenceRecord,
    TicketRoutingRecord,
)
from p2pdesk.ports.queries import (
    AgentView,
    AuditEventView,
    InvalidQuery,
    Page,
    Scope,
    TeamView,
    TicketView,
)

V = TypeVar("V")
M = TypeVar("M", bound=Model)

SLA_STATES = [state.value for state in SlaState]


class TicketFilter(django_filters.FilterSet):
    team = django_filters.NumberFilter(field_name="team_id")
    agent = django_filters.NumberFilter(field_name="agent_id")
    unassigned = django_filters.BooleanFilter(field_name="agent", lookup_expr="isnull")
    # distinct=False: a ticket matches one status at most, and django-filter's default SELECT DISTINCT
    # makes PostgreSQL sort every column of every match (at 1M tickets, team+status+created_before
    # measured p95 28.6 ms with it, 8.4 ms without).
    status = django_filters.MultipleChoiceFilter(
        choices=[(s, s) for s in ("new", "open", "pending", "resolved", "closed")],
        distinct=False,
        method="filter_status",
    )
    priority = django_filters.NumberFilter(field_name="priority")
    # Served by the partial (sla_state, created_at, id) indexes; distinct=False as for status.
    sla_state = django_filters.MultipleChoiceFilter(
        choices=[(s, s) for s in SLA_STATES], distinct=False, method="filter_sla_state"
    )
    requester_email = django_filters.CharFilter(method="filter_requester")
    # Either the ticket's own external reference or one routing found in its message; given both,
    # type and id must belong to the same reference.
    reference_type = django_filters.CharFilter(method="filter_reference")
    reference_id = django_filters.CharFilter(method="filter_reference")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = TicketRecord
        fields: list[str] = []

    def filter_status(
        self, queryset: QuerySet[TicketRecord], name: str, value: list[str]
    ) -> QuerySet[TicketRecord]:
        # One IN list rather than django-filter's chain of ORs, which the planner handles worse.
        return queryset.filter(status__in=value) if value else queryset

    def filter_reference(
        self, queryset: QuerySet[TicketRecord], name: str, value: str
    ) -> QuerySet[TicketRecord]:
        kind, ident = self.form.cleaned_data.get("reference_type"), self.form.cleaned_data.get("reference_id")
        if name == "reference_id" and kind:
            return queryset  # handled with reference_type
        own, found = TicketRecord.objects.all(), TicketReferenceRecord.objects.all()
        if kind:
            own, found = own.filter(reference_type=kind), found.filter(type=kind)
        if ident:
            # Both sides are index lookups returning a handful of ids: PostgreSQL joins those and
            # sorts them (0.2 ms at 500,000 tickets), where an OR with EXISTS walked every ticket.
            own, found = own.filter(reference_id=ident), found.filter(value=ident)
            ids = own.order_by().values("id").union(found.order_by().values("ticket_id"), all=True)
            return queryset.filter(id__in=ids)
        # A type alone matches many tickets: walk them newest first, checking each against the
        # (hashed) set of tickets with such an extracted reference.
        return queryset.filter(Q(reference_type=kind) | Q(id__in=found.values("ticket_id")))

    def filter_sla_state(
        self, queryset: QuerySet[TicketRecord], name: str, value: list[str]
    ) -> QuerySet[TicketRecord]:
        return queryset.filter(sla_state__in=value) if value else queryset

    def filter_requester(
        self, queryset: QuerySet[TicketRecord], name: str, value: str
    ) -> QuerySet[TicketRecord]:
        return queryset.filter(requester_email=value.strip().lower())


class AgentFilter(django_filters.FilterSet):
    team = django_filters.NumberFilter(field_name="memberships__team_id")
    is_active = django_filters.BooleanFilter(field_name="is_active")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")

    class Meta:
        model = AgentRecord
        fields: list[str] = []


class AuditFilter(django_filters.FilterSet):
    entity_type = django_filters.CharFilter(field_name="entity_type")
    entity_id = django_filters.CharFilter(field_name="entity_id")
    actor = django_filters.CharFilter(field_name="actor")
    action = django_filters.CharFilter(field_name="action")
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")

    class Meta:
        model = AuditEventRecord
        fields: list[str] = []


def _filtered(
    filterset_class: type[django_filters.FilterSet], params: Mapping[str, Any], queryset: QuerySet[M]
) -> QuerySet[M]:
    filterset = filterset_class(data=params, queryset=queryset)
    if not filterset.is_valid():
        raise InvalidQuery({field: [str(e) for e in errors] for field, errors in filterset.errors.items()})
    return filterset.qs


def _encode(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime | date) else str(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidQuery({"cursor": ["malformed cursor"]}) from None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidQuery({"cursor": ["malformed cursor"]})
    return values


def page(rows: list[M], limit: int, key: Callable[[M], list[Any]], view: Callable[[M], V]) -> Page[V]:
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        results=[view(r) for r in rows], next_cursor=_encode(key(rows[-1])) if more and rows else None
    )


def _newest_first(queryset: QuerySet[M], cursor: str | None, limit: int, time_field: str) -> list[M]:
    """Order newest first by (time_field, id), ids being UUIDs, and start after the cursor's key."""
    if cursor:
        values = _decode(cursor)
        try:
            at, last_id = datetime.fromisoformat(values[0]), uuid.UUID(values[1])
        except (IndexError, ValueError):
            raise InvalidQuery({"cursor": ["malformed cursor"]}) from None
        # The first condition bounds the index scan; the second breaks ties within the instant.
        queryset = queryset.filter(**{f"{time_field}__lte": at}).filter(
            Q(**{f"{time_field}__lt": at}) | Q(id__lt=last_id)
        )
    return list(queryset.order_by(f"-{time_field}", "-id")[: limit + 1])


def ticket_view(row: TicketRecord) -> TicketView:
    return TicketView(
        id=row.id,
        number=f"P2P-{row.number:06d}",
        subject=row.subject,
        description=row.description,
        team=row.team_id,
        agent=row.agent_id,
        status=row.status,
        priority=row.priority,
        requester_email=row.requester_email,
        source=row.source,
        reference={"type": row.reference_type, "id": row.reference_id} if row.reference_type else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        resolved_at=row.resolved_at,
        references=[{"type": r.type, "value": r.value} for r in row.references.all()],
        routing=_routing(row),
        sla_state=row.sla_state or None,
        first_response_due=row.first_response_due,
        resolution_due=row.resolution_due,
        first_responded_at=row.first_responded_at,
    )


def _routing(row: TicketRecord) -> dict[str, Any] | None:
    try:
        routing = row.routing
    except TicketRoutingRecord.DoesNotExist:
        return None
    return {"decided_by": routing.decided_by, "confidence": routing.confidence, "tags": routing.tags}


def _with_routing(queryset: QuerySet[TicketRecord]) -> QuerySet[TicketRecord]:
    return queryset.select_related("routing").prefetch_related("references")


class DjangoTicketQueries:
    def list(
        self, filters: Mapping[str, Any], *, scope: Scope, cursor: str | None, limit: int
    ) -> Page[TicketView]:
        queryset = _filtered(TicketFilter, filters, TicketRecord.objects.all())
        if scope.team_ids is not None:
            queryset = queryset.filter(team_id__in=scope.team_ids)
        rows = _newest_first(_with_routing(queryset), cursor, limit, "created_at")
        return page(rows, limit, lambda r: [r.created_at, r.id], ticket_view)

    def get(self, ticket_id: uuid.UUID, *, scope: Scope) -> TicketView | None:
        queryset = _with_routing(TicketRecord.objects.filter(id=ticket_id))
        if scope.team_ids is not None:
            queryset = queryset.filter(team_id__in=scope.team_ids)
        row = queryset.first()
        return ticket_view(row) if row else None


def team_view(row: TeamRecord) -> TeamView:
    return TeamView(
        id=row.id, name=row.name, description=row.description, timezone=row.timezone, is_active=row.is_active
    )


class DjangoTeamQueries:
    def list(self, *, cursor: str | None, limit: int, include_deleted: bool = False) -> Page[TeamView]:
        queryset = (
            TeamRecord.objects.all()
            if include_deleted
            else TeamRecord.objects.filter(deleted_at__isnull=True)
        )
        after = int_cursor(cursor)
        if after is not None:
            queryset = queryset.filter(id__gt=after)
        rows = list(queryset.order_by("id")[: limit + 1])
        return page(rows, limit, lambda r: [r.id], team_view)

    def get(self, team_id: int) -> TeamView | None:
        row = TeamRecord.objects.filter(id=team_id, deleted_at__isnull=True).first()
        return team_view(row) if row else None


def int_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(_decode(cursor)[0])
    except (IndexError, ValueError):
        raise InvalidQuery({"cursor": ["malformed cursor"]}) from None


class DjangoAgentQueries:
    def __init__(self, desk_today: Callable[[], date]) -> None:
        self._desk_today = desk_today

    def list(self, filters: Mapping[str, Any], *, cursor: str | None, limit: int) -> Page[AgentView]:
        queryset = _filtered(
            AgentFilter, filters, AgentRecord.objects.filter(deleted_at__isnull=True)
        ).distinct()
        after = int_cursor(cursor)
        if after is not None:
            queryset = queryset.filter(id__gt=after)
        rows = list(queryset.order_by("id")[: limit + 1])
        return page(rows, limit, lambda r: [r.id], self._views(rows[:limit]).__getitem__)

    def get(self, agent_id: int) -> AgentView | None:
        row = AgentRecord.objects.filter(id=agent_id, deleted_at__isnull=True).first()
        return self._views([row])[row] if row else None

    def _views(self, rows: list[AgentRecord]) -> dict[AgentRecord, AgentView]:
        teams: dict[int, list[int]] = {r.id: [] for r in rows}
        memberships = (
            TeamRecord.objects.filter(memberships__agent_id__in=list(teams), deleted_at__isnull=True)
            .values_list("memberships__agent_id", "id")
            .order_by("id")
        )
        for agent_id, team_id in memberships:
            teams[agent_id].append(team_id)
        today = self._desk_today()
        return {
            r: AgentView(
                id=r.id,
                email=r.email,
                name=r.name,
                teams=teams[r.id],
                is_active=r.is_active,
                tickets_assigned_today=r.assigned_today if r.counters_day == today else 0,
                tickets_resolved_today=r.resolved_today if r.counters_day == today else 0,
                total_tickets_assigned=r.total_assigned,
                total_tickets_resolved=r.total_resolved,
            )
            for r in rows
        }


class DjangoAuditQueries:
    def list(self, filters: Mapping[str, Any], *, cursor: str | None, limit: int) -> Page[AuditEventView]:
        queryset = _filtered(AuditFilter, filters, AuditEventRecord.objects.all())
        after = int_cursor(cursor)
        if after is not None:
            queryset = queryset.filter(id__lt=after)
        rows = list(queryset.order_by("-id")[: limit + 1])
        return page(
            rows,
            limit,
            lambda r: [r.id],
            lambda r: AuditEventView(
                id=r.id,
                action=r.action,
                actor=r.actor,
                at=r.at,
                entity_type=r.entity_type,
                entity_id=r.entity_id,
                before=r.before,
                after=r.after,
            ),
        )
