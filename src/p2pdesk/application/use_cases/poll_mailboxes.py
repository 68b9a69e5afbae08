"""Poll mailboxes once: fetch, take each message in, acknowledge only what is committed, move on.

Each mailbox is polled by one poller at a time (PollLock); one failing mailbox is reported and the
others still run. A message's own failure never stops the batch (intake quarantines it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

from p2pdesk.application.errors import GroupConflict, NotFound
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.application.use_cases.ingest_message import IngestMessageHandler
from p2pdesk.domain.events import DomainEvent
from p2pdesk.ports.intake import MailboxConfig
from p2pdesk.ports.mail import FileStore, StoredFile
from p2pdesk.ports.mailboxes import FetchedMessage, MailboxReaders, MailboxUnavailable, PollLock
from p2pdesk.ports.unit_of_work import CommitGroup, UnitOfWork, UnitOfWorkFactory

BATCH = 50
# Messages per commit group: enough to spread a commit's disk wait thin, few enough that the team
# locks the group holds until its commit are not kept from API creates for long.
GROUP = 25
MAX_BATCHES = 200  # bounds one poll; the next scheduled poll continues from the cursor


@dataclass(frozen=True)
class PollMailboxes:
    mailbox: str | None = None  # every enabled mailbox when None


@dataclass
class MailboxPollResult:
    mailbox: str
    outcomes: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    skipped: str | None = None


class PollMailboxesHandler:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        readers: MailboxReaders,
        files: FileStore,
        ingest: IngestMessageHandler,
        lock: PollLock,
        commit_group: CommitGroup = nullcontext,
    ) -> None:
        self._uow_factory = uow_factory
        self._readers = readers
        self._files = files
        self._ingest = ingest
        self._lock = lock
        self._commit_group = commit_group

    def __call__(self, command: PollMailboxes) -> list[MailboxPollResult]:
        with self._uow_factory() as uow:
            if command.mailbox is None:
                mailboxes = uow.mailboxes.list_enabled()
            else:
                mailbox = uow.mailboxes.by_name(command.mailbox)
                if mailbox is None:
                    raise NotFound(f"unknown mailbox {command.mailbox!r}")
                mailboxes = [mailbox]
        return [self.poll(mailbox) for mailbox in mailboxes]

    def poll(self, mailbox: MailboxConfig) -> MailboxPollResult:
        result = MailboxPollResult(mailbox.name)
        if not self._lock.try_acquire(mailbox.id):
            result.skipped = "another poller holds this mailbox"
            return result
        try:
            self._drain(mailbox, result)
        except MailboxUnavailable as error:
            result.error = str(error)
        finally:
            self._lock.release(mailbox.id)
        self._record_health(mailbox, result.error)
        return result

    def _drain(self, mailbox: MailboxConfig, result: MailboxPollResult) -> None:
        reader = self._readers.open(mailbox)
        cursor = dict(mailbox.cursor)
        try:
            for _ in range(MAX_BATCHES):
                batch = reader.fetch(cursor, limit=BATCH)
                for start in range(0, len(batch.messages), GROUP):
                    group = batch.messages[start : start + GROUP]
                    result.outcomes.update(self._take_in(mailbox, group))
                # Every outcome is committed by now, quarantine included.
                reader.acknowledge([message.ref for message in batch.messages])
                cursor = batch.cursor
                self._save_cursor(mailbox.id, cursor)
                if not batch.more:
                    break
        finally:
            reader.close()

    def _take_in(self, mailbox: MailboxConfig, messages: Sequence[FetchedMessage]) -> list[str]:
        """Take messages in under one commit; after a conflict with another worker, one by one.

        The raw messages and their attachments are written inside a file store batch that ends
        (every file durable) before the group commits: nothing is committed, and so nothing
        acknowledged, that refers to a file a crash could still lose.
        """
        stored: list[StoredFile] = []

        def take_all() -> list[str]:
            return [self._ingest.ingest(mailbox, file).outcome for file in stored]

        try:
            with self._commit_group(), self._files.batch():
                for message in messages:
                    with message.open() as raw:
                        stored.append(self._files.put(raw))  # kept whatever happens next
                return take_all()
        except GroupConflict:
            return take_all()  # the batch has ended: the files are in place and durable

    def _save_cursor(self, mailbox_id: int, cursor: dict[str, object]) -> None:
        def work(uow: UnitOfWork) -> None:
            uow.mailboxes.save_cursor(mailbox_id, cursor)

        run_in_transaction(self._uow_factory, work)

    def _record_health(self, mailbox: MailboxConfig, error: str | None) -> None:
        def work(uow: UnitOfWork) -> None:
            uow.mailboxes.record_poll(mailbox.id, error=error)
            health = {"mailbox": mailbox.name, "healthy": error is None}
            uow.publish_after_commit(
                [DomainEvent("mailbox.polled", "mailbox", str(mailbox.id), after=health)]
            )

        run_in_transaction(self._uow_factory, work)
