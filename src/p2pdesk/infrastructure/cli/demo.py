"""Fill an empty desk with the bundled demo through the same use cases the API calls."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from p2pdesk.application.principal import Principal
from p2pdesk.application.use_cases.create_ticket import CreateTicket
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_mailboxes import SaveMailbox
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.application.use_cases.poll_mailboxes import PollMailboxes
from p2pdesk.application.use_cases.update_ticket import TicketChanges, UpdateTicket
from p2pdesk.bootstrap import Desk
from p2pdesk.infrastructure.cli.demo_data import AGENTS, TEAMS, TICKETS

# The lifecycle path from "new" to each demo status, since closed tickets were resolved first.
_PATH = {
    "new": [],
    "open": ["open"],
    "pending": ["open", "pending"],
    "resolved": ["open", "resolved"],
    "closed": ["open", "resolved", "closed"],
}


DEMO_MAIL = Path(__file__).parent / "demo_mail"


@dataclass(frozen=True)
class DemoSummary:
    teams: int
    agents: int
    tickets: int
    skipped: bool  # the desk already had teams, so nothing was loaded
    mail: dict[str, int] = field(default_factory=dict)  # outcomes of the demo inbox's first poll


def load_demo(desk: Desk, *, actor: Principal, mail_dir: Path) -> DemoSummary:
    if desk.team_queries.list(cursor=None, limit=1).results:
        return DemoSummary(0, 0, 0, skipped=True)
    team_ids = {
        team.name: desk.teams.create(
            CreateTeam(name=team.name, description=team.description, timezone=team.timezone), actor
        )
        for team in TEAMS
    }
    for agent in AGENTS:
        desk.agents.create(
            CreateAgent(email=agent.email, name=agent.name, team_ids=[team_ids[t] for t in agent.teams]),
            actor,
        )
    for index, ticket in enumerate(TICKETS):
        created = desk.create_ticket(
            CreateTicket(
                subject=ticket.subject,
                description=ticket.description,
                team_id=team_ids[ticket.team],
                requester_email=ticket.requester_email,
                priority=ticket.priority,
                reference_type=ticket.reference_type,
                reference_id=ticket.reference_id,
                idempotency_key=f"demo-{index}",
            ),
            actor,
        )
        for status in _PATH[ticket.status]:
            desk.update_ticket(UpdateTicket(created.ticket.id, TicketChanges(status=status)), actor)
    mail = _demo_inbox(desk, actor, mail_dir, team_ids["Accounts Payable"])
    return DemoSummary(len(TEAMS), len(AGENTS), len(TICKETS), skipped=False, mail=mail)


def _demo_inbox(desk: Desk, actor: Principal, mail_dir: Path, team_id: int) -> dict[str, int]:
    """The AP shared inbox as a local Maildir holding the bundled demo mail, polled once."""
    mail_dir.mkdir(parents=True, exist_ok=True)
    for message in sorted(DEMO_MAIL.glob("*.eml")):
        shutil.copyfile(message, mail_dir / message.name)
    desk.mailboxes.create(
        SaveMailbox(
            name="default",
            kind="maildir",
            settings={"path": str(mail_dir)},
            default_team_id=team_id,
            address="ap@p2pdesk.example",
        ),
        actor,
    )
    [result] = desk.poll_mailboxes(PollMailboxes(mailbox="default"))
    return dict(result.outcomes)
