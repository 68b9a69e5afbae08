"""Take one raw message in: a new ticket, a new entry on the ticket it answers, or a recorded no-op.

Exactly once per (mailbox, Message-ID) — or the raw bytes' digest when there is no Message-ID — so
re-deliveries and re-polls after a crash change nothing. A message that cannot be parsed or
processed is quarantined with its raw bytes and the reason, and can be retried; it never blocks the
messages after it. Automated mail (auto-replies, bounces, lists) is recorded and never opens a ticket.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from p2pdesk.application.assigning import assign_next
from p2pdesk.application.audit import record_changes
from p2pdesk.application.errors import GroupConflict, IdempotencyRace, ValidationFailed
from p2pdesk.application.lookups import live_team, team_taking_tickets
from p2pdesk.application.opening import open_ticket
from p2pdesk.application.outbound import AUTO_REPLY_HEADERS, new_message_id, send_after_commit, store_outbound
from p2pdesk.application.principal import Principal, Role
from p2pdesk.application.sla import follow_status
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.application.use_cases.post_ticket_message import OutboundConfig
from p2pdesk.domain.events import DomainEvent
from p2pdesk.domain.messages import (
    AttachmentRef,
    Direction,
    TicketMessage,
    automation_reason,
    is_participant,
    may_answer,
    ticket_number_in_subject,
)
from p2pdesk.domain.tickets import Priority, Reference, Ticket, TicketSource, format_ticket_number
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.intake import InboundRecord, MailboxConfig
from p2pdesk.ports.mail import FileStore, Mailer, MessageParser, OutboundEmail, ParsedMessage, StoredFile
from p2pdesk.ports.routing import Router, ticket_routing
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

DEFAULT_MAILBOX = "default"
ACK_LIMIT_PER_HOUR = 5

ACKNOWLEDGEMENT = (
    "Thank you for your message. We have opened ticket {number} ({subject}).\n\n"
    "Please keep {number} in the subject when you write about it; a reply to this message is added\n"
    "to the ticket automatically.\n\n"
    "This is an automatic acknowledgement."
)


@dataclass(frozen=True)
class IngestMessage:
    raw: bytes
    mailbox: str | None = None  # the mailbox's name; the one named "default" when omitted


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # created, threaded, duplicate, ignored, quarantined
    ticket_id: uuid.UUID | None = None
    reason: str | None = None
    quarantine_id: int | None = None


def intake_event(mailbox: MailboxConfig, outcome: str, sent_at: datetime | None = None) -> DomainEvent:
    """For metrics only (messages per mailbox and outcome, intake lag from the message's Date); the
    audit trail records ticket changes."""
    return DomainEvent(
        "intake.message",
        "mailbox",
        str(mailbox.id),
        after={"mailbox": mailbox.name, "outcome": outcome, "sent_at": sent_at},
    )


def mailbox_actor(mailbox: MailboxConfig) -> Principal:
    return Principal(actor=f"mailbox:{mailbox.name}", role=Role.ADMIN)


class IngestMessageHandler:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        parser: MessageParser,
        files: FileStore,
        router: Router,
        mailer: Mailer,
        outbound: OutboundConfig,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._parser = parser
        self._files = files
        self._router = router
        self._mailer = mailer
        self._outbound = outbound

    def __call__(self, command: IngestMessage) -> IngestResult:
        if not command.raw or command.raw.isspace():  # isspace: no copy of a 25 MB message
            raise ValidationFailed("the message is empty")
        mailbox = self.mailbox(command.mailbox)
        raw_file = self._files.put(io.BytesIO(command.raw))  # kept whatever happens next
        return self.ingest(mailbox, raw_file)

    def mailbox(self, name: str | None) -> MailboxConfig:
        with self._uow_factory() as uow:
            mailbox = uow.mailboxes.by_name(name or DEFAULT_MAILBOX)
        if mailbox is None:
            if name is None:
                raise ValidationFailed("no mailbox given and no mailbox named 'default' is configured")
            raise ValidationFailed(f"unknown mailbox {name!r}", details={"field": "mailbox"})
        return mailbox

    def ingest(self, mailbox: MailboxConfig, raw_file: StoredFile) -> IngestResult:
        """Take in a message kept in the file store (read from there as a stream)."""
        try:
            with self._files.open(raw_file.key) as raw:
                parsed = self._parser.parse(raw)
        except Exception as error:  # any parser failure quarantines the message instead of losing it
            return self._quarantine(mailbox, raw_file, f"cannot parse: {type(error).__name__}: {error}")
        try:
            for _ in range(2):
                try:
                    return run_in_transaction(
                        self._uow_factory, lambda uow: self._take_in(uow, mailbox, parsed, raw_file)
                    )
                except IdempotencyRace:
                    continue  # another worker logged it first: the next run reports a duplicate
            raise AssertionError("a message raced twice")
        except GroupConflict:
            raise  # not this message's fault: the caller redoes the group one message at a time
        except Exception as error:  # a message that cannot be processed must not block the others
            return self._quarantine(mailbox, raw_file, f"cannot process: {type(error).__name__}: {error}")

    def _take_in(
        self, uow: UnitOfWork, mailbox: MailboxConfig, parsed: ParsedMessage, raw_file: StoredFile
    ) -> IngestResult:
        result = self._decide(uow, mailbox, parsed, raw_file)
        uow.publish_after_commit([intake_event(mailbox, result.outcome, parsed.date)])
        return result

    def _decide(
        self, uow: UnitOfWork, mailbox: MailboxConfig, parsed: ParsedMessage, raw_file: StoredFile
    ) -> IngestResult:
        key = parsed.message_id or f"sha256:{parsed.raw_sha256 or raw_file.sha256}"
        previous = uow.inbound.find(mailbox.id, key)
        if previous is not None:
            return IngestResult("duplicate", previous.ticket_id, f"already taken in ({previous.outcome})")
        at = self._clock.now()
        sender = parsed.from_address or (parsed.reply_to[0] if parsed.reply_to else "")
        reason = automation_reason(
            parsed.automation_headers, report_type=parsed.report_type, from_address=sender
        )
        if reason is None and mailbox.address and sender == mailbox.address.lower():
            reason = "sent by this mailbox"
        if reason is not None:
            uow.inbound.add(self._record(mailbox, key, parsed, raw_file, "ignored", reason, None, at))
            return IngestResult("ignored", None, reason)

        ticket, related = self._thread_target(uow, parsed, sender)
        if ticket is not None:
            outcome = "threaded"
            ticket.reopen(at=at)  # pending, resolved or closed: the requester answered
            follow_status(uow, ticket, at=at)
            if ticket.is_active and ticket.agent_id is None:
                assign_next(uow, ticket, live_team(uow, ticket.team_id), at=at, reason="requester replied")
        else:
            outcome = "created"
            decision = self._router.route(parsed, mailbox)
            ticket, at = open_ticket(
                uow,
                self._clock,
                team_taking_tickets(uow, decision.team_id),
                subject=parsed.subject.strip() or "(no subject)",
                description=parsed.new_text or parsed.text,
                requester_email=sender,
                priority=Priority.parse(decision.priority),
                source=TicketSource.EMAIL,
                reference=Reference("related_ticket", format_ticket_number(related)) if related else None,
            )

        entry = _thread_entry(ticket.id, parsed, at)
        ticket.add_to_thread(
            message_uuid=entry.id,
            direction=entry.direction,
            message_id=entry.message_id,
            sender=sender,
            at=at,
        )
        if outcome == "created":
            uow.tickets.add(ticket)  # one INSERT, with the thread's updated_at already set
            uow.routing.record_routing(ticket.id, ticket_routing(decision))
            uow.messages.add(entry)
            if mailbox.acknowledge and may_answer(sender) and self._under_ack_limit(uow, sender, at):
                self._acknowledge(uow, mailbox, ticket, parsed, sender, at)  # same instant: no UPDATE
        else:
            uow.messages.add(entry)
            uow.tickets.save(ticket)
        uow.inbound.add(self._record(mailbox, key, parsed, raw_file, outcome, None, ticket.id, at))
        record_changes(uow, mailbox_actor(mailbox), at, [ticket])
        return IngestResult(outcome, ticket.id, None)

    @staticmethod
    def _under_ack_limit(uow: UnitOfWork, sender: str, at: datetime) -> bool:
        """A sender that opens ticket after ticket (a robot we failed to recognise, a loop) stops
        getting acknowledgements after ACK_LIMIT_PER_HOUR in an hour; its tickets still open."""
        opened = uow.tickets.count_opened_by(
            sender, source=TicketSource.EMAIL.value, since=at - timedelta(hours=1)
        )
        return opened <= ACK_LIMIT_PER_HOUR  # this message's own ticket is among them

    def _acknowledge(
        self,
        uow: UnitOfWork,
        mailbox: MailboxConfig,
        ticket: Ticket,
        parsed: ParsedMessage,
        sender: str,
        at: datetime,
    ) -> None:
        """Tell a person their message arrived, with the number to quote; never sent to automated mail."""
        email = OutboundEmail(
            from_address=mailbox.address or self._outbound.reply_from,
            to=(sender,),
            subject=f"[{ticket.display_number}] Received: {ticket.subject}",
            text=ACKNOWLEDGEMENT.format(number=ticket.display_number, subject=ticket.subject),
            message_id=new_message_id(ticket, self._outbound.mail_domain),
            in_reply_to=parsed.message_id,
            references=(parsed.message_id,) if parsed.message_id else (),
            headers=AUTO_REPLY_HEADERS,
        )
        author = f"mailbox:{mailbox.name}"
        store_outbound(uow, ticket, email, direction=Direction.OUTBOUND, author=author, at=at)
        send_after_commit(uow, self._mailer, email)

    def _thread_target(
        self, uow: UnitOfWork, parsed: ParsedMessage, sender: str
    ) -> tuple[Ticket | None, int | None]:
        """The ticket this message answers, and a ticket number it quoted without being on that ticket.

        In-Reply-To first, then References newest first; a `[P2P-000123]` subject token only counts
        when the sender is already on that ticket (a stranger quoting a number opens a new ticket).
        """
        ids = [*parsed.in_reply_to, *reversed(parsed.references)]
        ticket_id = uow.messages.ticket_for_message_ids(ids) if ids else None
        number = ticket_number_in_subject(parsed.subject)
        related = None
        if ticket_id is None and number is not None:
            candidate = uow.tickets.id_by_number(number)
            if candidate is not None:
                ticket = uow.tickets.get(candidate)
                assert ticket is not None
                if is_participant(sender, ticket.requester_email, uow.messages.thread(candidate)):
                    ticket_id = candidate
                else:
                    related = number
        if ticket_id is None:
            return None, related
        peek = uow.tickets.get(ticket_id)
        assert peek is not None
        uow.assignment.lock_teams([peek.team_id])  # team before ticket row: the global lock order
        return uow.tickets.get(ticket_id, for_update=True), None

    def _quarantine(self, mailbox: MailboxConfig, raw_file: StoredFile, reason: str) -> IngestResult:
        def work(uow: UnitOfWork) -> int:
            uow.publish_after_commit([intake_event(mailbox, "quarantined")])
            return uow.quarantine.add(
                mailbox_id=mailbox.id,
                raw_key=raw_file.key,
                raw_sha256=raw_file.sha256,
                reason=reason[:2000],
                at=self._clock.now(),
            )

        quarantine_id = run_in_transaction(self._uow_factory, work)
        return IngestResult("quarantined", None, reason, quarantine_id)

    @staticmethod
    def _record(
        mailbox: MailboxConfig,
        key: str,
        parsed: ParsedMessage,
        raw_file: StoredFile,
        outcome: str,
        reason: str | None,
        ticket_id: uuid.UUID | None,
        at: datetime,
    ) -> InboundRecord:
        return InboundRecord(
            mailbox_id=mailbox.id,
            key=key,
            message_id=parsed.message_id,
            raw_sha256=raw_file.sha256,
            raw_key=raw_file.key,
            outcome=outcome,
            reason=reason,
            ticket_id=ticket_id,
            received_at=at,
        )


def _thread_entry(ticket_id: uuid.UUID, parsed: ParsedMessage, at: datetime) -> TicketMessage:
    return TicketMessage(
        id=uuid.uuid4(),
        ticket_id=ticket_id,
        direction=Direction.INBOUND,
        message_id=parsed.message_id,
        from_address=parsed.from_address,
        to=parsed.to,
        cc=parsed.cc,
        subject=parsed.subject,
        text=parsed.text,
        html=parsed.html,
        created_at=at,
        in_reply_to=parsed.in_reply_to[0] if parsed.in_reply_to else None,
        attachments=tuple(
            AttachmentRef(
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                sha256=a.sha256,
                storage_key=a.storage_key,
                inline=a.inline,
                content_id=a.content_id,
                skipped_reason=a.skipped_reason,
            )
            for a in parsed.attachments
        ),
    )
