"""Domain events → Prometheus counters, published only after the transaction commits."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Gauge

from p2pdesk.domain.events import DomainEvent

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

PUSH_NOTIFICATIONS = Counter(
    "p2pdesk_push_notifications_total",
    "Push notifications by provider (graph, gmail) and outcome: accepted, or why one was ignored or "
    "refused (unknown_subscription, bad_client_state, invalid_token, malformed, unknown_mailbox, ...)",
    ["provider", "outcome"],
)


class PrometheusEventPublisher:
    def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            if event.action == "intake.message":
                INTAKE_MESSAGES.labels(mailbox=event.after["mailbox"], outcome=event.after["outcome"]).inc()
                continue
            if event.action == "mailbox.polled":
                MAILBOX_UP.labels(mailbox=event.after["mailbox"]).set(1 if event.after["healthy"] else 0)
                MAILBOX_LAST_POLL.labels(mailbox=event.after["mailbox"]).set_to_current_time()
                continue
            if event.action == "push.notification":
                for outcome, count in event.after["outcomes"].items():
                    PUSH_NOTIFICATIONS.labels(provider=event.after["provider"], outcome=outcome).inc(count)
                continue
            if event.entity_type != "ticket":
                continue
            team = str(event.team_id)
            TICKET_EVENTS.labels(action=event.action.removeprefix("ticket."), team=team).inc()
            if event.action == "ticket.status_changed" and event.after.get("status") == "resolved":
                TICKETS_RESOLVED.labels(team=team).inc()
