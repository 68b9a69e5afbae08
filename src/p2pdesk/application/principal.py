"""Who is acting, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from p2pdesk.application.errors import PermissionDenied
from p2pdesk.ports.queries import Scope


class Role(StrEnum):
    ADMIN = "admin"
    TEAM_LEAD = "team_lead"
    AGENT = "agent"
    INTEGRATION = "integration"


@dataclass(frozen=True)
class Principal:
    actor: str  # written into the audit trail, e.g. "user:ana@p2pdesk.example" or "system"
    role: Role
    team_ids: frozenset[int] = frozenset()  # an agent's teams; ignored for other roles

    @property
    def scope(self) -> Scope:
        return Scope(self.team_ids) if self.role == Role.AGENT else Scope(None)

    def require_directory_admin(self) -> None:
        if self.role not in (Role.ADMIN, Role.TEAM_LEAD):
            raise PermissionDenied("only admins and team leads manage teams and agents")

    def require_ticket_writer(self) -> None:
        if self.role == Role.INTEGRATION:
            raise PermissionDenied("integrations may create and read tickets, not change them")

    def require_team_access(self, team_id: int) -> None:
        if self.role == Role.AGENT and team_id not in self.team_ids:
            raise PermissionDenied("agents see and change only tickets of their teams")

    def require_lead_of(self, team_id: int) -> None:
        """Admins, and team leads for the teams they belong to (e.g. to set those teams' SLA policies)."""
        if self.role == Role.ADMIN or (self.role == Role.TEAM_LEAD and team_id in self.team_ids):
            return
        raise PermissionDenied("only admins and the team's leads change its settings")

    def require_audit_reader(self) -> None:
        if self.role not in (Role.ADMIN, Role.TEAM_LEAD):
            raise PermissionDenied("only admins and team leads read the audit trail")


SYSTEM = Principal(actor="system", role=Role.ADMIN)
