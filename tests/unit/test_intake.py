"""Mail intake rules on in-memory adapters: exactly once, threading, loops, quarantine, polling."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest

from p2pdesk.application.errors import GroupConflict, ValidationFailed
from p2pdesk.application.principal import SYSTEM
from p2pdesk.application.use_cases.ingest_message import IngestMessage
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_teams import CreateTeam, UpdateTeam
from p2pdesk.application.use_cases.poll_mailboxes import PollMailboxes, PollMailboxesHandler
from p2pdesk.application.use_cases.post_ticket_message import PostTicketMessage
from p2pdesk.application.use_cases.retry_quarantined import RetryQuarantined
from p2pdesk.application.use_cases.update_ticket import TicketChanges, UpdateTicket
from p2pdesk.domain.messages import automation_reason, ticket_number_in_subject
from p2pdesk.domain.tickets import TicketSource, TicketStatus
from p2pdesk.ports.mail import ParsedMessage
from p2pdesk.ports.mailboxes import FetchBatch, FetchedMessage, MailboxUnavailable
from tests.fakes.memory import FakeDesk, FakePollLock, FakeUnitOfWork


def parsed(n: int, **fields: Any) -> ParsedMessage:
    base = ParsedMessage(
        message_id=f"m{n}@vendor.example",
        in_reply_to=(),
        references=(),
        subject=f"Invoice INV-{n} not paid",
        from_address="ap@vendor.example",
        from_name="Vendor AP",
        reply_to=(),
        to=("ap@p2p.example",),
        cc=(),
        date=None,
        text=f"Hello, invoice INV-{n} is overdue.\n\n> old quote",
        new_text=f"Hello, invoice INV-{n} is overdue.",
        html=None,
        raw_sha256=f"{n:064d}",
        raw_size=100,
    )
    return replace(base, **fields)


@pytest.fixture
def fake() -> FakeDesk:
    desk = FakeDesk()
    team = desk.desk.teams.create(CreateTeam(name="Accounts Payable"), SYSTEM)
    desk.desk.agents.create(CreateAgent(email="ana@p2p.example", name="Ana", team_ids=[team]), SYSTEM)
    desk.add_mailbox("default", team, address="ap@p2p.example")
    return desk


def ingest(fake: FakeDesk, raw: bytes, message: ParsedMessage | None, mailbox: str | None = None) -> Any:
    if message is not None:
        fake.parser.messages[raw] = message
    return fake.desk.ingest_message(IngestMessage(raw=raw, mailbox=mailbox))


def test_a_new_message_opens_an_assigned_email_ticket(fake: FakeDesk) -> None:
    result = ingest(fake, b"raw-1", parsed(1))
    assert result.outcome == "created"
    ticket = fake.ticket(result.ticket_id)
    assert (ticket.subject, ticket.requester_email, ticket.source) == (
        "Invoice INV-1 not paid",
        "ap@vendor.example",
        TicketSource.EMAIL,
    )
    assert ticket.description == "Hello, invoice INV-1 is overdue."
    assert ticket.agent_id is not None
    [entry] = fake.store.thread
    assert (entry.direction, entry.message_id, entry.ticket_id) == ("inbound", "m1@vendor.example", ticket.id)
    actors = {e.actor for e in fake.store.audit if e.event.entity_id == str(ticket.id)}
    assert actors == {"mailbox:default"}


def test_the_same_message_twice_is_one_ticket(fake: FakeDesk) -> None:
    first = ingest(fake, b"raw-1", parsed(1))
    again = ingest(fake, b"raw-1-redelivered", parsed(1, raw_sha256="f" * 64))
    assert (again.outcome, again.ticket_id) == ("duplicate", first.ticket_id)
    assert len(fake.store.tickets) == 1
    assert len(fake.store.thread) == 1


def test_messages_without_message_id_are_deduplicated_by_content(fake: FakeDesk) -> None:
    message = parsed(1, message_id=None)
    assert ingest(fake, b"same bytes", message).outcome == "created"
    assert ingest(fake, b"same bytes", message).outcome == "duplicate"
    assert ingest(fake, b"other bytes", parsed(2, message_id=None)).outcome == "created"


@pytest.mark.parametrize("field", ["in_reply_to", "references"])
def test_a_reply_joins_its_ticket_and_reopens_it(fake: FakeDesk, field: str) -> None:
    first = ingest(fake, b"raw-1", parsed(1))
    fake.desk.update_ticket(UpdateTicket(first.ticket_id, TicketChanges(status="resolved")), SYSTEM)
    reply = parsed(2, subject="Re: something else entirely", **{field: ("unknown@x", "m1@vendor.example")})
    result = ingest(fake, b"raw-2", reply)
    assert (result.outcome, result.ticket_id) == ("threaded", first.ticket_id)
    assert fake.ticket(first.ticket_id).status is TicketStatus.OPEN
    assert len(fake.store.tickets) == 1
    assert [m.message_id for m in fake.store.thread] == ["m1@vendor.example", "m2@vendor.example"]


def test_the_subject_token_threads_only_for_people_already_on_the_ticket(fake: FakeDesk) -> None:
    first = fake.ticket(ingest(fake, b"raw-1", parsed(1)).ticket_id)
    subject = f"Re: [{first.display_number}] Invoice"
    same_sender = ingest(fake, b"raw-2", parsed(2, subject=subject))
    assert (same_sender.outcome, same_sender.ticket_id) == ("threaded", first.id)
    stranger = ingest(fake, b"raw-3", parsed(3, subject=subject, from_address="eve@attacker.example"))
    assert stranger.outcome == "created"
    assert stranger.ticket_id != first.id
    linked = fake.ticket(stranger.ticket_id).reference
    assert linked is not None
    assert (linked.type, linked.id) == ("related_ticket", first.display_number)


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        ({"auto-submitted": "auto-replied"}, {}),
        ({"precedence": "bulk"}, {}),
        ({"x-autoreply": "yes"}, {}),
        ({"list-id": "<ap.lists.example>"}, {}),
        ({"return-path": "<>"}, {}),
        ({}, {"report_type": "delivery-status"}),
        ({}, {"from_address": "mailer-daemon@mx.example"}),
        ({}, {"from_address": "ap@p2p.example"}),
    ],
)
def test_automated_mail_is_recorded_but_opens_nothing(
    fake: FakeDesk, headers: dict[str, str], fields: dict[str, Any]
) -> None:
    result = ingest(fake, b"raw-auto", parsed(1, automation_headers=headers, **fields))
    assert result.outcome == "ignored"
    assert result.reason
    assert fake.store.tickets == {}
    assert [r.outcome for r in fake.store.inbound.values()] == ["ignored"]
    assert ingest(fake, b"raw-auto", None).outcome == "duplicate"


def test_auto_submitted_no_is_a_person() -> None:
    assert automation_reason({"Auto-Submitted": "no"}, report_type=None, from_address="a@b.example") is None
    assert ticket_number_in_subject("RE: [ p2p-000042 ] paid?") == 42
    assert ticket_number_in_subject("P2P-000042 without brackets") is None


def test_unparseable_mail_is_quarantined_and_retry_takes_it_in_once_fixed(fake: FakeDesk) -> None:
    fake.parser.broken.add(b"garbage")
    result = ingest(fake, b"garbage", None)
    assert result.outcome == "quarantined"
    assert "cannot parse" in result.reason
    again = ingest(fake, b"garbage", None)
    assert again.quarantine_id == result.quarantine_id
    assert fake.store.quarantine[result.quarantine_id].attempts == 2
    assert fake.files.files  # the raw bytes are kept

    fake.parser.broken.clear()
    fake.parser.messages[b"garbage"] = parsed(9)
    retried = fake.desk.retry_quarantined(RetryQuarantined(result.quarantine_id))
    assert retried.outcome == "created"
    assert fake.store.quarantine[result.quarantine_id].resolved


def test_a_message_for_an_inactive_team_is_quarantined_not_lost(fake: FakeDesk) -> None:
    team_id = next(iter(fake.store.teams))
    fake.desk.teams.update(UpdateTeam(team_id, is_active=False), SYSTEM)
    result = ingest(fake, b"raw-1", parsed(1))
    assert result.outcome == "quarantined"
    assert "inactive" in result.reason
    assert fake.store.inbound == {}
    fake.desk.teams.update(UpdateTeam(team_id, is_active=True), SYSTEM)
    assert fake.desk.retry_quarantined(RetryQuarantined(result.quarantine_id)).outcome == "created"


def test_unknown_mailbox_and_empty_message_are_refused(fake: FakeDesk) -> None:
    with pytest.raises(ValidationFailed, match="unknown mailbox"):
        ingest(fake, b"raw-1", parsed(1), mailbox="nope")
    with pytest.raises(ValidationFailed, match="empty"):
        ingest(fake, b"  \r\n", None)


class ScriptedReader:
    def __init__(self, messages: list[FetchedMessage], fail: bool = False) -> None:
        self.messages = messages
        self.fail = fail
        self.acked: list[str] = []
        self.closed = False

    def fetch(self, cursor: Any, *, limit: int) -> FetchBatch:
        if self.fail:
            raise MailboxUnavailable("login refused")
        start = int(cursor.get("next", 0))
        chunk = self.messages[start : start + limit]
        return FetchBatch(chunk, {"next": start + len(chunk)}, more=start + limit < len(self.messages))

    def acknowledge(self, refs: Any) -> None:
        self.acked.extend(refs)

    def close(self) -> None:
        self.closed = True


def test_polling_acknowledges_every_committed_message_and_keeps_going(fake: FakeDesk) -> None:
    team_id = next(iter(fake.store.teams))
    fake.add_mailbox("broken", team_id)
    fake.parser.broken.add(b"bad")
    for n in range(1, 121):
        fake.parser.messages[f"raw-{n}".encode()] = parsed(n)
    good = ScriptedReader([FetchedMessage(f"r{n}", f"raw-{n}".encode()) for n in range(1, 121)])
    good.messages.insert(3, FetchedMessage("r-bad", b"bad"))
    fake.readers.readers = {"default": good, "broken": ScriptedReader([], fail=True)}

    results = {r.mailbox: r for r in fake.desk.poll_mailboxes(PollMailboxes())}
    assert results["default"].outcomes == {"created": 120, "quarantined": 1}
    assert results["broken"].error == "login refused"
    assert len(good.acked) == 121
    assert good.closed
    assert fake.store.mailboxes[1].cursor == {"next": 121}
    assert results["default"].error is None


def test_acknowledgement_goes_to_people_only_and_a_reply_to_it_threads(fake: FakeDesk) -> None:
    team_id = next(iter(fake.store.teams))
    fake.add_mailbox("ack", team_id, address="ap@p2p.example", acknowledge=True)
    created = ingest(fake, b"raw-1", parsed(1), mailbox="ack")
    ticket = fake.ticket(created.ticket_id)
    [ack] = fake.mailer.sent
    assert ack.to == ("ap@vendor.example",)
    assert ack.subject.startswith(f"[{ticket.display_number}]")
    assert ack.in_reply_to == "m1@vendor.example"
    assert ack.headers["Auto-Submitted"] == "auto-replied"
    assert ingest(fake, b"raw-ooo", parsed(2, automation_headers={"auto-submitted": "auto-replied"}), "ack")
    portal = ingest(fake, b"raw-portal", parsed(4, from_address="no-reply@portal.example"), "ack")
    assert portal.outcome == "created"  # a portal's notice can be real work
    assert len(fake.mailer.sent) == 1  # but neither it nor the auto-reply is answered

    answer = parsed(3, in_reply_to=(ack.message_id,), subject="Re: " + ack.subject)
    threaded = ingest(fake, b"raw-3", answer, mailbox="ack")
    assert (threaded.outcome, threaded.ticket_id) == ("threaded", ticket.id)
    assert len(fake.mailer.sent) == 1


def test_an_agents_reply_is_threaded_and_sent_and_a_note_is_not(fake: FakeDesk) -> None:
    created = ingest(fake, b"raw-1", parsed(1))
    reply = fake.desk.post_ticket_message(PostTicketMessage(created.ticket_id, "Paid on 12 Nov."), SYSTEM)
    [sent] = fake.mailer.sent
    assert (sent.to, sent.in_reply_to, sent.references) == (
        ("ap@vendor.example",),
        "m1@vendor.example",
        ("m1@vendor.example",),
    )
    assert sent.message_id == reply.message_id
    assert "[P2P-000001]" in sent.subject
    note = fake.desk.post_ticket_message(
        PostTicketMessage(created.ticket_id, "Checked SAP", internal=True), SYSTEM
    )
    assert (note.direction, note.message_id) == ("note", None)
    assert len(fake.mailer.sent) == 1
    assert [m.direction for m in fake.store.thread] == ["inbound", "outbound", "note"]
    with pytest.raises(ValidationFailed):
        fake.desk.post_ticket_message(PostTicketMessage(created.ticket_id, "   "), SYSTEM)


def test_acknowledgements_to_one_sender_stop_after_the_hourly_limit(fake: FakeDesk) -> None:
    team_id = next(iter(fake.store.teams))
    fake.add_mailbox("ack", team_id, address="ap@p2p.example", acknowledge=True)
    for n in range(1, 9):
        assert ingest(fake, f"raw-{n}".encode(), parsed(n), mailbox="ack").outcome == "created"
    assert len(fake.mailer.sent) == 5  # ACK_LIMIT_PER_HOUR; the tickets all opened
    fake.clock.advance(hours=2)
    ingest(fake, b"raw-later", parsed(50), mailbox="ack")
    assert len(fake.mailer.sent) == 6


class FlakyCommitGroup:
    """A commit group on the fakes: all-or-nothing, and its first commit fails like a deadlock."""

    def __init__(self, fake: FakeDesk, failures: int = 1) -> None:
        self.fake = fake
        self.failures = failures
        self.groups = 0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        self.groups += 1
        snapshot = copy.deepcopy(self.fake.store)
        yield
        if self.failures:
            self.failures -= 1
            self.fake.store = snapshot  # the group's transaction rolled back
            raise GroupConflict("deadlock detected")


def test_a_group_that_conflicts_is_taken_in_again_one_message_at_a_time(fake: FakeDesk) -> None:
    for n in range(1, 61):
        fake.parser.messages[f"raw-{n}".encode()] = parsed(n)
    reader = ScriptedReader([FetchedMessage(f"r{n}", f"raw-{n}".encode()) for n in range(1, 61)])
    fake.readers.readers = {"default": reader}
    group = FlakyCommitGroup(fake)
    ingest_handler = fake.desk.ingest_message
    poll = PollMailboxesHandler(
        lambda: FakeUnitOfWork(fake), fake.readers, fake.files, ingest_handler, FakePollLock(), group
    )

    [result] = poll(PollMailboxes())
    assert result.outcomes == {"created": 60}
    assert len(fake.store.tickets) == 60  # the rolled-back group left nothing behind, nothing twice
    assert len(fake.store.inbound) == 60
    assert sorted(reader.acked) == sorted(f"r{n}" for n in range(1, 61))
    assert group.groups >= 3  # 60 messages in groups of at most GROUP, one of them redone alone
