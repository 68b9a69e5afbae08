"""`p2pdesk escalate_sla`: run the SLA escalation once (what beat's escalate_sla_task does), print JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from p2pdesk import bootstrap
from p2pdesk.application.use_cases.escalate_sla import EscalateSla


class Command(BaseCommand):
    help = "Escalate tickets whose SLA is at risk or breached, once per ticket and threshold."

    def handle(self, *args: Any, **options: Any) -> None:
        run = bootstrap.desk().escalate_sla(EscalateSla())
        summary = {
            "checked": run.checked,
            "escalations": [
                {"ticket": str(e.ticket_id), "threshold": e.threshold, "actions": e.outcomes}
                for e in run.escalations
            ],
            "failures": [{"ticket": str(ticket_id), "error": error} for ticket_id, error in run.failures],
        }
        self.stdout.write(json.dumps(summary))
