"""Storage the mail intake needs: mailboxes, the log of every message taken in, thread, quarantine."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from p2pdesk.domain.messages import TicketMessage


@dataclass(frozen=True)
class MailboxConfig:
    id: int
    name: str
    kind: str  # imap, graph, gmail, maildir
    settings: dict[str, Any]
    default_team_id: int
    enabled: bool
    acknowledge: bool
    poll_interval_seconds: int
    cursor: dict[str, Any] = field(default_factory=dict)
    address: str = ""  # the mailbox's own address: never acknowledged, never a requester


@dataclass(frozen=True)
class InboundRecord:
    """One message taken in, whatever became of it; (mailbox, key) makes intake idempotent."""

    mailbox_id: int | None
    key: str  # the Message-ID, or "sha256:<digest>" of the raw bytes when there is none
    message_id: str | None
    raw_sha256: str
    raw_key: str | None
    outcome: str  # created, threaded, ignored, quarantined
    reason: str | None
    ticket_id: uuid.UUID | None
    received_at: datetime


@dataclass(frozen=True)
class QuarantinedMessage:
    id: int
    mailbox_id: int | None
    raw_key: str
    raw_sha256: str
    reason: str
    attempts: int
    resolved: bool


class InboundLog(Protocol):
    def find(self, mailbox_id: int | None, key: str) -> InboundRecord | None: ...
    def add(self, record: InboundRecord) -> None:
        """Raises application.errors.IdempotencyRace when another transaction logged it first."""
        ...


class ThreadRepository(Protocol):
    def add(self, message: TicketMessage) -> None: ...
    def ticket_for_message_ids(self, message_ids: Sequence[str]) -> uuid.UUID | None:
        """The ticket that holds the first of these ids we know (in the order given)."""
        ...

    def thread(self, ticket_id: uuid.UUID) -> list[TicketMessage]: ...


class MailboxRepository(Protocol):
    def by_name(self, name: str) -> MailboxConfig | None: ...
    def get(self, mailbox_id: int) -> MailboxConfig | None: ...
    def list_enabled(self) -> list[MailboxConfig]: ...
    def add(self, draft: MailboxDraft) -> int: ...
    def draft(self, mailbox_id: int) -> MailboxDraft | None: ...
    def update(self, mailbox_id: int, draft: MailboxDraft) -> None: ...
    def secret(self, mailbox_id: int) -> str | None:
        """The decrypted secret, for the reader adapters only; never logged or returned by the API."""
        ...

    def save_cursor(self, mailbox_id: int, cursor: dict[str, Any]) -> None: ...
    def record_poll(self, mailbox_id: int, *, error: str | None) -> None:
        """When it was last polled and the last error ("" once healthy again)."""
        ...


class QuarantineRepository(Protocol):
    def add(self, *, mailbox_id: int | None, raw_key: str, raw_sha256: str, reason: str, at: datetime) -> int:
        """Quarantine the message, or count another attempt on the one already there; its id."""
        ...

    def get(self, quarantine_id: int, *, for_update: bool = False) -> QuarantinedMessage | None: ...
    def resolve(self, quarantine_id: int, *, outcome: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class MailboxDraft:
    """A mailbox's configuration as written; `secret` is None to keep the stored one."""

    name: str
    kind: str
    settings: dict[str, Any]
    default_team_id: int
    address: str
    enabled: bool
    acknowledge: bool
    poll_interval_seconds: int
    secret: str | None = None
    has_secret: bool = False

    def audit_view(self) -> dict[str, Any]:
        """What the audit trail records: everything but the secret, of which only a change shows."""
        view = {
            "name": self.name,
            "kind": self.kind,
            "settings": self.settings,
            "default_team": self.default_team_id,
            "address": self.address,
            "enabled": self.enabled,
            "acknowledge": self.acknowledge,
            "poll_interval_seconds": self.poll_interval_seconds,
        }
        if self.secret is not None:
            view["secret"] = "changed" if self.secret else "cleared"
        return view

    def as_command(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "settings": self.settings,
            "default_team_id": self.default_team_id,
            "address": self.address,
            "enabled": self.enabled,
            "acknowledge": self.acknowledge,
            "poll_interval_seconds": self.poll_interval_seconds,
            "secret": None,
        }
