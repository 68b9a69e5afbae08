"""Run a quarantined message through intake again (after a fix, or once its team is back)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from p2pdesk.application.errors import Conflict, NotFound
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.application.use_cases.ingest_message import IngestMessageHandler, IngestResult
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.mail import FileStore, StoredFile
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class RetryQuarantined:
    quarantine_id: int


class RetryQuarantinedHandler:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, files: FileStore, ingest: IngestMessageHandler
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._files = files
        self._ingest = ingest

    def __call__(self, command: RetryQuarantined) -> IngestResult:
        with self._uow_factory() as uow:
            entry = uow.quarantine.get(command.quarantine_id)
            mailbox = uow.mailboxes.get(entry.mailbox_id) if entry and entry.mailbox_id else None
        if entry is None or mailbox is None:
            raise NotFound(f"quarantined message {command.quarantine_id} does not exist")
        if entry.resolved:
            raise Conflict("this message was already taken in after an earlier retry")
        with self._files.open(entry.raw_key) as stream:
            size = stream.seek(0, io.SEEK_END)
        stored = StoredFile(key=entry.raw_key, size=size, sha256=entry.raw_sha256)
        result = self._ingest.ingest(mailbox, stored)  # a new failure counts another attempt
        if result.outcome != "quarantined":

            def resolve(uow: UnitOfWork) -> None:
                uow.quarantine.resolve(entry.id, outcome=result.outcome, at=self._clock.now())

            run_in_transaction(self._uow_factory, resolve)
        return result
