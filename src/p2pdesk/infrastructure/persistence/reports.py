"""Aggregates for the web desk's dashboard and the team leads' page, computed in the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from p2pdesk.infrastructure.persistence.models import ACTIVE_STATUSES, AgentRecord, TicketRecord
from p2pdesk.ports.queries import Scope
from p2pdesk.ports.reports import AGE_BUCKETS, DailyTeamCount, TeamBacklog, TeamSlaAdherence


def _scoped(queryset: QuerySet[TicketRecord], scope: Scope) -> QuerySet[TicketRecord]:
    return queryset if scope.team_ids is None else queryset.filter(team_id__in=scope.team_ids)


class DjangoReportQueries:
    def __init__(self, time_zone: str) -> None:
        self._tz = ZoneInfo(time_zone)

    def _per_day(self, field: str, since: datetime, scope: Scope) -> list[DailyTeamCount]:
        rows = (
            _scoped(TicketRecord.objects.filter(**{f"{field}__gte": since}), scope)
            .annotate(day=TruncDate(field, tzinfo=self._tz))
            .values("team_id", "day")
            .annotate(n=Count("id"))
            .order_by("team_id", "day")
        )
        return [DailyTeamCount(r["team_id"], r["day"], r["n"]) for r in rows]

    def opened_per_day(self, *, since: datetime, scope: Scope) -> list[DailyTeamCount]:
        return self._per_day("created_at", since, scope)

    def resolved_per_day(self, *, since: datetime, scope: Scope) -> list[DailyTeamCount]:
        return self._per_day("resolved_at", since, scope)

    def backlog_by_age(self, *, now: datetime, scope: Scope) -> list[TeamBacklog]:
        # One pass over the active tickets: a conditional count per bucket, grouped by team.
        buckets = {}
        lower: int = 0
        for index, (_, upper) in enumerate(AGE_BUCKETS):
            in_bucket = Q(created_at__lte=now - timedelta(days=lower))
            if upper is not None:
                in_bucket &= Q(created_at__gt=now - timedelta(days=upper))
                lower = upper
            buckets[f"b{index}"] = Count("id", filter=in_bucket)
        rows = (
            _scoped(TicketRecord.objects.filter(status__in=ACTIVE_STATUSES), scope)
            .values("team_id")
            .annotate(**buckets)
            .order_by("team_id")
        )
        return [TeamBacklog(r["team_id"], tuple(r[f"b{i}"] for i in range(len(AGE_BUCKETS)))) for r in rows]

    def sla_adherence(self, *, since: datetime, scope: Scope) -> list[TeamSlaAdherence]:
        rows = (
            _scoped(TicketRecord.objects.filter(created_at__gte=since, sla_state__isnull=False), scope)
            .exclude(sla_state="")
            .values("team_id")
            .annotate(total=Count("id"), breached=Count("id", filter=Q(sla_state="breached")))
            .order_by("team_id")
        )
        return [TeamSlaAdherence(r["team_id"], r["total"] - r["breached"], r["total"]) for r in rows]

    def agent_names(self, agent_ids: list[int]) -> dict[int, str]:
        return dict(AgentRecord.objects.filter(id__in=agent_ids).values_list("id", "name"))

    def active_load(self, agent_ids: list[int]) -> dict[int, int]:
        rows = (
            TicketRecord.objects.filter(agent_id__in=agent_ids, status__in=ACTIVE_STATUSES)
            .values("agent_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        return {r["agent_id"]: r["n"] for r in rows}
