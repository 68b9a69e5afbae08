"""Teams: the groups tickets are routed to. Deleting one keeps its history (soft delete)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from p2pdesk.domain.business_day import zone
from p2pdesk.domain.errors import InvalidValue, TeamUnavailable
from p2pdesk.domain.events import DomainEvent, RecordsEvents

NAME_MAX = 100


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidValue("team name must not be empty")
    if len(name) > NAME_MAX:
        raise InvalidValue(f"team name is at most {NAME_MAX} characters")
    return name


class Team(RecordsEvents):
    def __init__(
        self,
        *,
        id: int | None,
        name: str,
        description: str,
        timezone: str,
        is_active: bool,
        deleted_at: datetime | None,
    ) -> None:
        self.id = id
        self.name = name
        self.description = description
        self.timezone = timezone
        self.is_active = is_active
        self.deleted_at = deleted_at
        self._init_events()

    @classmethod
    def create(cls, *, name: str, description: str, timezone: str) -> Team:
        zone(timezone)
        return cls(
            id=None,
            name=_clean_name(name),
            description=description,
            timezone=timezone,
            is_active=True,
            deleted_at=None,
        )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def accepts_tickets(self) -> bool:
        return self.is_active and not self.is_deleted

    def ensure_accepts_tickets(self) -> None:
        if not self.accepts_tickets:
            state = "deleted" if self.is_deleted else "inactive"
            raise TeamUnavailable(f"team {self.name!r} is {state} and takes no tickets")

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "timezone": self.timezone,
            "is_active": self.is_active,
        }

    def record_created(self) -> None:
        """Called once the team has an id."""
        self._record("team.created", {}, self.snapshot())

    def update(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        timezone: str | None = None,
        is_active: bool | None = None,
    ) -> bool:
        before = self.snapshot()
        if name is not None:
            self.name = _clean_name(name)
        if description is not None:
            self.description = description
        if timezone is not None:
            zone(timezone)
            self.timezone = timezone
        if is_active is not None:
            self.is_active = is_active
        return self._record_changes("team.updated", before)

    def delete(self, *, at: datetime) -> None:
        before = self.snapshot()
        self.deleted_at = at
        self.is_active = False
        self._record("team.deleted", before, {**self.snapshot(), "deleted_at": at.isoformat()})

    def _record_changes(self, action: str, before: dict[str, Any]) -> bool:
        after = self.snapshot()
        changed = {k for k in after if after[k] != before[k]}
        if not changed:
            return False
        self._record(action, {k: before[k] for k in changed}, {k: after[k] for k in changed})
        return True

    def _record(self, action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        self.record(
            DomainEvent(
                action=action,
                entity_type="team",
                entity_id=str(self.id),
                before=before,
                after=after,
                team_id=self.id,
            )
        )
