"""Fill an empty desk with the bundled demo through the same use cases the API calls."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from p2pdesk.application.principal import Principal, Role
from p2pdesk.application.use_cases.create_ticket import CreateTicket
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_mailboxes import SaveMailbox
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.application.use_cases.poll_mailboxes import PollMailboxes
from p2pdesk.application.use_cases.update_ticket import TicketChanges, UpdateTicket
from p2pdesk.bootstrap import Desk
from p2pdesk.infrastructure.cli.default_routing import load_default_routing
from p2pdesk.infrastructure.cli.demo_data import AGENTS, TEAMS, TICKETS, DemoAgent
from p2pdesk.infrastructure.cli.demo_sla import load_sla_demo

# The lifecycle path from "new" to each demo status, since closed tickets were resolved first.
_PATH = {
    "new": [],
    "open": ["open"],
    "pending": ["open", "pending"],
    "resolved": ["open", "resolved"],
    "closed": ["open", "resolved", "closed"],
}


DEMO_MAIL = Path(__file__).parent / "demo_mail"
TRIAGE_AGENT = DemoAgent(name="Noor Haddad", email="noor.haddad@p2pdesk.example", teams=("Triage",))


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
    # The shipped routing rules, and the Triage team they fall back to, staffed by one agent.
    load_default_routing(desk, actor)
    team_ids.update((t.name, t.id) for t in desk.team_queries.list(cursor=None, limit=100).results)
    load_sla_demo(desk, actor=actor, team_ids=team_ids)  # before the tickets, so they get SLA clocks
    for agent in (*AGENTS, TRIAGE_AGENT):
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
    return DemoSummary(len(TEAMS), len(AGENTS) + 1, len(TICKETS), skipped=False, mail=mail)


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


# Web desk logins for trying the desk: an agent of Accounts Payable, and a team lead of Accounts
# Payable and Payments (who is an agent there too, so the lead page opens on those teams).
DEMO_LOGINS: tuple[tuple[str, Role], ...] = ((AGENTS[1].email, Role.AGENT), (AGENTS[0].email, Role.TEAM_LEAD))


def set_demo_logins(set_login: Callable[[str, Role, str], None]) -> list[tuple[str, Role, str]]:
    """Give each demo login a fresh random password, so a printed one always works and none is shared."""
    logins = []
    for email, role in DEMO_LOGINS:
        password = secrets.token_urlsafe(9)
        set_login(email, role, password)
        logins.append((email, role, password))
    return logins
