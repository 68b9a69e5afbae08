"""Reading mailboxes: one port for IMAP, Microsoft Graph, Gmail and local Maildir adapters.

The poller fetches a batch, ingests each message in its own transaction, and only then
acknowledges it to the mailbox (moved to the processed folder, labelled, …) and stores the cursor.
A crash anywhere in between re-fetches messages that intake then recognises as duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class FetchedMessage:
    ref: str  # the adapter's handle for acknowledging it, e.g. "<uidvalidity>:<uid>" for IMAP
    raw: bytes  # the RFC 5322 message as received


@dataclass(frozen=True)
class FetchBatch:
    messages: list[FetchedMessage]
    # Where to continue next time (UIDVALIDITY and last UID, a delta link, a history id…); stored
    # by the poller only after every message of the batch is committed and acknowledged.
    cursor: dict[str, Any] = field(default_factory=dict)
    more: bool = False  # the mailbox holds more than `limit`: fetch again straight away


class MailboxUnavailable(Exception):
    """The mailbox cannot be reached or refuses the credentials; the mailbox is marked unhealthy."""


class MailboxReader(Protocol):
    def fetch(self, cursor: Mapping[str, Any], *, limit: int) -> FetchBatch:
        """New messages since `cursor` (an empty mapping the first time), at most `limit`."""
        ...

    def acknowledge(self, refs: Sequence[str]) -> None:
        """Mark these messages processed in the mailbox; called only after they are committed."""
        ...

    def close(self) -> None: ...


class MailboxReaders(Protocol):
    """Builds the reader for a mailbox's kind (the adapters register by kind in the composition root)."""

    def open(self, mailbox: Any) -> MailboxReader: ...


class PollLock(Protocol):
    def try_acquire(self, mailbox_id: int) -> bool:
        """Hold the mailbox for this poller until release; False when another poller has it."""
        ...

    def release(self, mailbox_id: int) -> None: ...
