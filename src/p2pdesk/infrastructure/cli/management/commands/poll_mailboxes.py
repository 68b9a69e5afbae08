"""p2pdesk poll_mailboxes [--mailbox NAME]: poll every enabled mailbox (or one) once."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from p2pdesk import bootstrap
from p2pdesk.application.use_cases.poll_mailboxes import PollMailboxes


class Command(BaseCommand):
    help = "Poll every enabled mailbox (or one) once and print a JSON summary per mailbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mailbox", default=None)

    def handle(self, *args: Any, mailbox: str | None, **options: Any) -> None:
        results = bootstrap.desk().poll_mailboxes(PollMailboxes(mailbox=mailbox))
        summary = [
            {"mailbox": r.mailbox, "outcomes": dict(r.outcomes), "error": r.error, "skipped": r.skipped}
            for r in results
        ]
        self.stdout.write(json.dumps(summary))
