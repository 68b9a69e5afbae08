"""SLA gauges read from the database at scrape time, so every web process reports the same numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.db.models import Count, Q
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from p2pdesk.infrastructure.persistence.models import ACTIVE_STATUSES, TicketRecord

ADHERENCE_WINDOW = timedelta(days=30)


class SlaMetricsCollector(Collector):
    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        at_risk = GaugeMetricFamily(
            "p2pdesk_sla_tickets_at_risk", "Open tickets whose SLA is at risk, by team", labels=["team"]
        )
        breached = GaugeMetricFamily(
            "p2pdesk_sla_tickets_breached", "Open tickets that breached their SLA, by team", labels=["team"]
        )
        counts = (
            TicketRecord.objects.filter(status__in=ACTIVE_STATUSES, sla_state__in=["at_risk", "breached"])
            .values_list("team_id", "sla_state")
            .annotate(n=Count("id"))
            .order_by()
        )
        for team_id, state, n in counts:
            (at_risk if state == "at_risk" else breached).add_metric([str(team_id)], n)
        adherence = GaugeMetricFamily(
            "p2pdesk_sla_adherence_ratio",
            "Share of the team's tickets opened in the last 30 days with an SLA that have not breached it",
            labels=["team"],
        )
        since = self._now() - ADHERENCE_WINDOW
        totals = (
            TicketRecord.objects.filter(created_at__gte=since)
            .exclude(sla_state="")
            .values_list("team_id")
            .annotate(total=Count("id"), missed=Count("id", filter=Q(sla_state="breached")))
            .order_by()
        )
        for team_id, total, missed in totals:
            adherence.add_metric([str(team_id)], (total - missed) / total)
        yield at_risk
        yield breached
        yield adherence
