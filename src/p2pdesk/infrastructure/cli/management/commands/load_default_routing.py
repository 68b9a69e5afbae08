from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM
from p2pdesk.infrastructure.cli.default_routing import load_default_routing


class Command(BaseCommand):
    help = "Load the shipped routing rules and their teams (P2P teams and Triage); safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        loaded = load_default_routing(bootstrap.desk(), SYSTEM)
        self.stdout.write(
            f"Routing: {loaded.teams_created} teams created, {loaded.rules_created} rules created, "
            f"{loaded.rules_kept} already there."
        )
