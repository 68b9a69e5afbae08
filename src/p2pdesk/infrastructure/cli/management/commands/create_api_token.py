from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from p2pdesk import bootstrap
from p2pdesk.application.principal import Role


class Command(BaseCommand):
    help = "Create the user if needed, give it a role, and print only its API token on stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])

    def handle(self, *args: Any, email: str, role: str, **options: Any) -> None:
        self.stdout.write(bootstrap.issue_api_token(email, Role(role)))
