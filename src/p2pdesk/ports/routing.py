from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from p2pdesk.ports.intake import MailboxConfig
from p2pdesk.ports.mail import ParsedMessage


@dataclass(frozen=True)
class RoutingDecision:
    team_id: int
    priority: int = 3
    decided_by: str = "default"  # "rule:<name>", "model:<version>" or "default"


class Router(Protocol):
    """Which team a new message's ticket goes to. The rule engine and classifier plug in here."""

    def route(self, message: ParsedMessage, mailbox: MailboxConfig) -> RoutingDecision: ...
