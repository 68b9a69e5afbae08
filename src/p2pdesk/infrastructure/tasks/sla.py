"""SLA escalation on schedule: beat runs `escalate_sla_task` every minute (P2PDESK_SLA_TICK_SECONDS).

Several workers may run it at once: each (ticket, threshold) escalation is claimed in the database
before it runs, so none runs twice. A run takes batches until the due tickets are done.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import shared_task

from p2pdesk import bootstrap
from p2pdesk.application.use_cases.escalate_sla import DEFAULT_BATCH, EscalateSla

log = structlog.get_logger(__name__)

MAX_BATCHES = 20  # a backlog bigger than this waits for the next tick rather than hold a worker


@shared_task(acks_late=True)
def escalate_sla_task() -> dict[str, Any]:
    checked = escalated = 0
    for _ in range(MAX_BATCHES):
        run = bootstrap.desk().escalate_sla(EscalateSla(limit=DEFAULT_BATCH))
        checked += run.checked
        escalated += len(run.escalations)
        for escalation in run.escalations:
            log.info(
                "sla.escalated",
                ticket=str(escalation.ticket_id),
                threshold=escalation.threshold,
                actions=escalation.outcomes,
            )
        for ticket_id, error in run.failures:
            log.error("sla.escalation_failed", ticket=str(ticket_id), error=error)
        if run.checked < DEFAULT_BATCH or run.failures:  # failures would come back in the next batch
            break
    return {"checked": checked, "escalated": escalated}
