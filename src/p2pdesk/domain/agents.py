"""Agents: the people tickets are assigned to. An agent can serve several teams."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from p2pdesk.domain.errors import InvalidValue
from p2pdesk.domain.events import DomainEvent, RecordsEvents

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise InvalidValue(f"{email!r} is not a valid email address")
    return email


class Agent(RecordsEvents):
    def __init__(
        self,
        *,
        id: int | None,
        email: str,
        name: str,
        team_ids: frozenset[int],
        is_active: bool,
        deleted_at: datetime | None,
    ) -> None:
        self.id = id
        self.email = email
        self.name = name
        self.team_ids = team_ids
        self.is_active = is_active
        self.deleted_at = deleted_at
        self._init_events()

    @classmethod
    def create(cls, *, email: str, name: str, team_ids: frozenset[int], is_active: bool) -> Agent:
        name = " ".join(name.split())
        if not name:
            raise InvalidValue("agent name must not be empty")
        return cls(
            id=None,
            email=normalise_email(email),
            name=name,
            team_ids=team_ids,
            is_active=is_active,
            deleted_at=None,
        )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_available(self) -> bool:
        """Available agents receive tickets."""
        return self.is_active and not self.is_deleted

    def snapshot(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "name": self.name,
            "teams": sorted(self.team_ids),
            "is_active": self.is_active,
        }

    def record_created(self) -> None:
        self._record("agent.created", {}, self.snapshot())

    def update(
        self,
        *,
        email: str | None = None,
        name: str | None = None,
        team_ids: frozenset[int] | None = None,
        is_active: bool | None = None,
    ) -> bool:
        before = self.snapshot()
        if email is not None:
            self.email = normalise_email(email)
        if name is not None:
            name = " ".join(name.split())
            if not name:
                raise InvalidValue("agent name must not be empty")
            self.name = name
        if team_ids is not None:
            self.team_ids = team_ids
        if is_active is not None:
            self.is_active = is_active
        after = self.snapshot()
        changed = {k for k in after if after[k] != before[k]}
        if not changed:
            return False
        self._record("agent.updated", {k: before[k] for k in changed}, {k: after[k] for k in changed})
        return True

    def delete(self, *, at: datetime) -> None:
        before = self.snapshot()
        self.deleted_at = at
        self.is_active = False
        self._record("agent.deleted", before, {**self.snapshot(), "deleted_at": at.isoformat()})

    def _record(self, action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        self.record(
            DomainEvent(
                action=action, entity_type="agent", entity_id=str(self.id), before=before, after=after
            )
        )
