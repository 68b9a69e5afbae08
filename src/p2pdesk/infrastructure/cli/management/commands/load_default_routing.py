from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM
from p2pdesk.infrastructure.cli.default_routing import load_default_routing


class Command(BaseCommand):
    help = (
        "Load the shipped routing rules and their teams (P2P teams and Triage); safe to run again. "
        "Existing rules are left alone unless --update."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--update",
            action="store_true",
            help=(
                "also replace shipped rules that exist by name with this version's (conditions, actions, "
                "position, match, stop; audited) and disable shipped rules this version retired"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        loaded = load_default_routing(bootstrap.desk(), SYSTEM, update=options["update"])
        message = (
            f"Routing: {loaded.teams_created} teams created, {loaded.rules_created} rules created, "
            f"{loaded.rules_kept} already there"
        )
        if options["update"]:
            message += f", {loaded.rules_updated} updated, {loaded.rules_retired} retired rules disabled"
        self.stdout.write(message + ".")
