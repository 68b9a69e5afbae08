"""Reading mailboxes: one port for IMAP, Microsoft Graph, Gmail and local Maildir adapters.

The poller fetches a batch, ingests each message in its own transaction, and only then
acknowledges it to the mailbox (moved to the processed folder, labelled, …) and stores the cursor.
A crash anywhere in between re-fetches messages that intake then recognises as duplicates.

Push (Graph change notifications, Gmail watch through Pub/Sub) only makes the poll come sooner:
a notification is a trigger for a poll, never a carrier of mail.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Protocol


@dataclass(frozen=True)
class FetchedMessage:
    ref: str  # the adapter's handle for acknowledging it, e.g. "<uidvalidity>:<uid>" for IMAP
    raw: bytes = b""  # the RFC 5322 message as received, when the adapter holds it in memory
    # Or how to read it as a stream (a local file): then memory does not grow with its size.
    opener: Callable[[], BinaryIO] | None = None

    def open(self) -> BinaryIO:
        return self.opener() if self.opener is not None else io.BytesIO(self.raw)


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


# -- push: provider notifications that trigger a poll ---------------------------------------------


@dataclass(frozen=True)
class PushSubscription:
    """A mailbox's push channel as the provider granted it: a Graph subscription or a Gmail watch."""

    external_id: str  # the Graph subscription id; the mailbox address for a Gmail watch
    expires_at: datetime  # as granted, which may be sooner than asked


class PushSubscriptionGone(Exception):
    """The provider no longer knows the subscription (expired or removed): create a new one."""


class PushChannel(Protocol):
    """One mailbox's push notifications at its provider. Errors are MailboxUnavailable."""

    def subscribe(self, *, client_state: str, expires_at: datetime) -> PushSubscription:
        """Create a subscription that sends `client_state` with each notification (Graph) or a watch."""
        ...

    def renew(self, external_id: str, *, expires_at: datetime) -> PushSubscription:
        """Extend it; raises PushSubscriptionGone when the provider no longer has it."""
        ...

    def delete(self, external_id: str) -> None:
        """Stop it; one that is gone already is no error."""
        ...

    def close(self) -> None: ...


class PushChannels(Protocol):
    """Opens a mailbox's push channel (the adapters register by kind in the composition root)."""

    enabled: bool  # False when push is off (no public URL): polling alone runs

    def open(self, mailbox: Any) -> PushChannel | None:
        """None when the mailbox's kind or settings have no push (IMAP, Maildir, Gmail without topic)."""
        ...


class PollScheduler(Protocol):
    """Queues work for the mail workers; returns once it is queued (durably, with a broker)."""

    def schedule(self, mailbox: str) -> None:
        """Have the mailbox polled soon."""
        ...

    def schedule_renewal(self, mailbox: str, *, recreate: bool = False) -> None:
        """Have its push subscription renewed soon; `recreate`: make a new one, then poll."""
        ...


class InvalidPushToken(Exception):
    """The credentials of a push request do not prove that it comes from the configured sender."""


class PushTokenVerifier(Protocol):
    def verify(self, token: str) -> None:
        """Raise InvalidPushToken unless `token` is a valid, signed token of the expected sender."""
        ...


@dataclass(frozen=True)
class StoredPushSubscription:
    """What the desk keeps of a mailbox's push subscription; one per mailbox."""

    mailbox_id: int
    provider: str  # the mailbox kind it was made for: graph, gmail
    external_id: str
    client_state: str = field(repr=False)  # the secret Graph echoes in every notification; "" for Gmail
    expires_at: datetime
    renewed_at: datetime  # when it was created or last renewed: half-life is measured from here
    created_at: datetime


class PushSubscriptionRepository(Protocol):
    def for_mailbox(self, mailbox_id: int) -> StoredPushSubscription | None: ...
    def by_external_ids(
        self, provider: str, external_ids: Sequence[str]
    ) -> dict[str, StoredPushSubscription]: ...
    def all(self) -> list[StoredPushSubscription]: ...
    def save(self, subscription: StoredPushSubscription) -> None:
        """Store it as the mailbox's subscription, replacing the one it had."""
        ...

    def remove(self, mailbox_id: int) -> None: ...
