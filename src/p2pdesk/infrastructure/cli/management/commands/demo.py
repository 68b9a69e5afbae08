from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM
from p2pdesk.infrastructure.cli.demo import DemoSummary, load_demo, set_demo_logins


class Command(BaseCommand):
    help = "Load the demo desk (P2P teams, agents across them, realistic tickets) into an empty database."

    def handle(self, *args: Any, **options: Any) -> None:
        mail_dir = Path(settings.P2PDESK_DATA_DIR) / "demo-mail"
        summary = load_demo(bootstrap.desk(), actor=SYSTEM, mail_dir=mail_dir)
        if summary.skipped:
            self.stdout.write("The desk already has teams; demo data not loaded.")
        else:
            self._loaded(summary, mail_dir)
        self.stdout.write("Web desk logins (new passwords on every run), sign in at /desk/:")
        for email, role, password in set_demo_logins(bootstrap.set_login):
            self.stdout.write(f"  {role.value:<9}  {email}  password: {password}")

    def _loaded(self, summary: DemoSummary, mail_dir: Path) -> None:
        self.stdout.write(
            f"Loaded {summary.teams} teams, {summary.agents} agents and {summary.tickets} tickets."
        )
        outcomes = ", ".join(f"{n} {outcome}" for outcome, n in sorted(summary.mail.items()))
        self.stdout.write(f"Polled the demo inbox ({mail_dir}): {outcomes or 'no messages'}.")
