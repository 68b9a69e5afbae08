from __future__ import annotations

from p2pdesk.ports.intake import MailboxConfig
from p2pdesk.ports.mail import ParsedMessage
from p2pdesk.ports.routing import RoutingDecision


class MailboxDefaultRouter:
    """Until routing rules exist, every new message goes to its mailbox's default team."""

    def route(self, message: ParsedMessage, mailbox: MailboxConfig) -> RoutingDecision:
        return RoutingDecision(team_id=mailbox.default_team_id)
