"""Prometheus metrics: domain events → counters (published only after the transaction commits),
task outcomes from Celery's signals, and gauges read when Prometheus scrapes (queue depth,
quarantine size) by `DeskStateCollector`.

Tickets created/assigned per team are `p2pdesk_ticket_events_total{action="created"|"assigned"}`,
resolved ones `p2pdesk_tickets_resolved_total`; deploy/grafana/p2pdesk.json charts them all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from p2pdesk.domain.events import DomainEvent

log = structlog.get_logger(__name__)

TICKET_EVENTS = Counter(
    "p2pdesk_ticket_events_total",
    "Ticket changes by action (created, assigned, status_changed, ...) and team",
    ["action", "team"],
)
TICKETS_RESOLVED = Counter("p2pdesk_tickets_resolved_total", "Tickets resolved, by team", ["team"])
INTAKE_MESSAGES = Counter(
    "p2pdesk_intake_messages_total",
    "Messages taken in, by mailbox and outcome (created, threaded, duplicate, ignored, quarantined)",
    ["mailbox", "outcome"],
)
MAILBOX_UP = Gauge(
    "p2pdesk_mailbox_up", "1 when the mailbox's last poll succeeded, 0 when it failed", ["mailbox"]
)
MAILBOX_LAST_POLL = Gauge(
    "p2pdesk_mailbox_last_poll_timestamp_seconds", "When the mailbox was last polled", ["mailbox"]
)

SLA_ESCALATIONS = Counter(
    "p2pdesk_sla_escalations_total",
    "SLA escalations run, by team and threshold (first_response.at_risk, resolution.breached, ...)",
    ["team", "threshold"],
)
INTAKE_LAG = Histogram(
    "p2pdesk_intake_lag_seconds",
    "From a message's Date header to its ticket being committed, by mailbox (clock skew clamps at 0)",
    ["mailbox"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600),
)
TASK_FAILURES = Counter(
    "p2pdesk_task_failures_total", "Celery tasks that raised (after their last retry, or unretried)", ["task"]
)
TASK_RETRIES = Counter("p2pdesk_task_retries_total", "Celery task retries scheduled", ["task"])

PUSH_NOTIFICATIONS = Counter(
    "p2pdesk_push_notifications_total",
    "Push notifications by provider (graph, gmail) and outcome: accepted, or why one was ignored or "
    "refused (unknown_subscription, bad_client_state, invalid_token, malformed, unknown_mailbox, ...)",
    ["provider", "outcome"],
)

ROUTING_MISROUTES = Counter(
    "p2pdesk_routing_misroutes_total",
    "Routed tickets a person moved to another team, by the team routing had chosen",
    ["team"],
)


class PrometheusEventPublisher:
    def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            if event.action == "intake.message":
                INTAKE_MESSAGES.labels(mailbox=event.after["mailbox"], outcome=event.after["outcome"]).inc()
                sent_at = event.after.get("sent_at")
                if sent_at is not None and event.after["outcome"] in ("created", "threaded"):
                    lag = (datetime.now(UTC) - sent_at).total_seconds()
                    INTAKE_LAG.labels(mailbox=event.after["mailbox"]).observe(max(lag, 0.0))
                continue
            if event.action == "mailbox.polled":
                MAILBOX_UP.labels(mailbox=event.after["mailbox"]).set(1 if event.after["healthy"] else 0)
                MAILBOX_LAST_POLL.labels(mailbox=event.after["mailbox"]).set_to_current_time()
                continue
            if event.action == "push.notification":
                for outcome, count in event.after["outcomes"].items():
                    PUSH_NOTIFICATIONS.labels(provider=event.after["provider"], outcome=outcome).inc(count)
                continue
            if event.action == "routing.misroute":
                ROUTING_MISROUTES.labels(team=str(event.team_id)).inc()
                continue
            if event.entity_type != "ticket":
                continue
            team = str(event.team_id)
            if event.action == "ticket.sla_escalated":
                SLA_ESCALATIONS.labels(team=team, threshold=event.after["threshold"]).inc()
            TICKET_EVENTS.labels(action=event.action.removeprefix("ticket."), team=team).inc()
            if event.action == "ticket.status_changed" and event.after.get("status") == "resolved":
                TICKETS_RESOLVED.labels(team=team).inc()


class DeskStateCollector(Collector):
    """Gauges computed at scrape time from the source of truth, so every web pod reports the same
    value and nothing has to keep them up to date. A source that cannot be read (database or broker
    down) is left out of that scrape and logged; the scrape itself still succeeds."""

    def __init__(
        self, quarantine_size: Callable[[], int], queue_depths: Callable[[], dict[str, int]]
    ) -> None:
        self._quarantine_size = quarantine_size
        self._queue_depths = queue_depths

    def collect(self) -> Iterator[Metric]:
        try:
            size = self._quarantine_size()
        except Exception as error:
            log.warning("metrics.quarantine_unreadable", error=type(error).__name__)
        else:
            gauge = GaugeMetricFamily(
                "p2pdesk_quarantine_size", "Quarantined messages not yet resolved (retryable)"
            )
            gauge.add_metric([], size)
            yield gauge
        try:
            depths = self._queue_depths()
        except Exception as error:
            log.warning("metrics.queue_unreadable", error=type(error).__name__)
        else:
            gauge = GaugeMetricFamily(
                "p2pdesk_task_queue_depth", "Celery tasks waiting for a worker, by queue", labels=["queue"]
            )
            for queue, depth in depths.items():
                gauge.add_metric([queue], depth)
            yield gauge


def process_registry() -> CollectorRegistry | None:
    """Every process's metrics when they are shared through PROMETHEUS_MULTIPROC_DIR (gunicorn
    workers, Celery's pool); None means this process's own default registry."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def serve_metrics(port: int) -> None:
    """Serve /metrics on `port` from a thread of this process (a Celery worker's main process)."""
    registry = process_registry()
    if registry is None:
        start_http_server(port)
    else:
        start_http_server(port, registry=registry)
    log.info("metrics.serving", port=port)
