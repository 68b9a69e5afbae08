"""Domain events → Prometheus counters, published only after the transaction commits."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from p2pdesk.domain.events import DomainEvent

TICKET_EVENTS = Counter(
    "p2pdesk_ticket_events_total",
    "Ticket changes by action (created, assigned, status_changed, ...) and team",
    ["action", "team"],
)
TICKETS_RESOLVED = Counter("p2pdesk_tickets_resolved_total", "Tickets resolved, by team", ["team"])


class PrometheusEventPublisher:
    def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            if event.entity_type != "ticket":
                continue
            team = str(event.team_id)
            TICKET_EVENTS.labels(action=event.action.removeprefix("ticket."), team=team).inc()
            if event.action == "ticket.status_changed" and event.after.get("status") == "resolved":
                TICKETS_RESOLVED.labels(team=team).inc()
