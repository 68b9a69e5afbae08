"""Nothing lost, nothing twice: the IMAP poller SIGKILLed at random instants, then let finish.

A team, an agent and an IMAP mailbox are set up through the real use cases; ~300 realistic messages
(new requests, replies, auto-replies, exact re-deliveries, messages without a Message-ID, two
unparseable ones, some with attachments) are appended to a per-test folder of the loopback Dovecot.
`p2pdesk poll_mailboxes --mailbox NAME` then runs as a subprocess against the test database and is
SIGKILLed after a seeded random delay, again and again, before one last run is allowed to finish.

The expectations are computed from the generated corpus, never from the database, and then checked
against both sides: the IMAP folders (every appended message moved to the processed folder exactly
once) and the database (one inbound record per message key, one ticket per new request, each reply
on its parent's ticket, automated mail ignored, garbage quarantined, one `ticket.created` audit
event per ticket, raw messages and attachments in the file store).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.dovecot import TestMailbox

# Transactional: no test-wide transaction, so the poller subprocesses see what the test commits.
pytestmark = [pytest.mark.postgres, pytest.mark.imap, pytest.mark.django_db(transaction=True)]

SEED = 20_240_611
MIN_KILLS = 12
# Most kills land at a random instant after the poller took the mailbox's lock, i.e. while it fetches,
# takes messages in, commits, moves them and saves its cursor; some while it starts (Django, the
# database, the lock). Timing from the lock keeps the kills on the work whatever the start-up time.
WORK_KILL_DELAY = (0.0, 1.5)
STARTUP_KILL_DELAY = (0.1, 0.8)
STARTUP_KILL_EVERY = 4
MAX_RUNS = 60  # killed, skipped and finished runs together
DEADLINE = 180.0  # seconds for all runs together: fail, never hang
RUN_TIMEOUT = 120.0  # for any one run
LOCK_RELEASE_TIMEOUT = 15.0
POLLER = Path(sys.executable).with_name("p2pdesk")
INTAKE = "intake@example.test"


# --- the corpus --------------------------------------------------------------------------------------


OUTCOME = {
    "new": "created",
    "no_id": "created",
    "reply": "threaded",
    "auto": "ignored",
    "redelivery": "duplicate",
    "garbage": "quarantined",
}


def digest(text: str) -> str:
    """How intake stores a message key (InboundMessageRecord.key_sha256)."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Mail:
    """One appended message and what intake must make of it."""

    raw: bytes
    kind: str  # new, no_id, reply, auto, redelivery, garbage
    message_id: str | None = None  # without angle brackets
    parent: str | None = None  # replies: the Message-ID they answer
    attachments: int = 0

    @property
    def key(self) -> str | None:
        """Intake's idempotency key: the Message-ID, else the raw bytes' digest (garbage has none)."""
        if self.kind == "garbage":
            return None
        return self.message_id or f"sha256:{hashlib.sha256(self.raw).hexdigest()}"


@dataclass
class Corpus:
    mails: list[Mail] = field(default_factory=list)

    def of(self, *kinds: str) -> list[Mail]:
        return [m for m in self.mails if m.kind in kinds]

    def expected_outcomes(self) -> Counter[str]:
        return Counter(OUTCOME[m.kind] for m in self.mails)

    def expected_poll(self, raws: list[bytes], taken_in: set[str]) -> Counter[str]:
        """The outcomes a poll of `raws` (in UID order) must report when `taken_in` key digests exist."""
        first = {}
        for mail in self.mails:
            first.setdefault(mail.raw, mail)  # a re-delivery's bytes are its original's
        seen = set(taken_in)
        outcomes: Counter[str] = Counter()
        for raw in raws:
            mail = first[raw]
            if mail.key is None:
                outcomes["quarantined"] += 1
            elif digest(mail.key) in seen:
                outcomes["duplicate"] += 1
            else:
                seen.add(digest(mail.key))
                outcomes[OUTCOME[mail.kind]] += 1
        return outcomes

    def root_of(self, message_id: str) -> str:
        """The Message-ID of the new request at the top of a reply chain."""
        by_id = {m.message_id: m for m in self.of("new", "reply")}
        while by_id[message_id].parent is not None:
            message_id = by_id[message_id].parent  # type: ignore[assignment]
        return message_id


VENDORS = [
    ("Acme Industrial Supplies", "ap@acme-industrial.example"),
    ("Nordic Paper AB", "invoices@nordicpaper.example"),
    ("Sharma Logistics Pvt Ltd", "accounts@sharmalogistics.example"),
    ("Müller & Söhne GmbH", "buchhaltung@mueller-soehne.example"),
    ("Blue Harbor Foods", "ar@blueharbor.example"),
    ("Kowalski Electric", "finance@kowalski-electric.example"),
    ("Oficina Central SA", "cobros@oficinacentral.example"),
    ("Tanaka Components", "billing@tanaka-components.example"),
]
BUYERS = ["priya.buyer@p2p.example", "tom.procure@p2p.example", "lena.requisitions@p2p.example"]
TOPICS = [
    ("Invoice {ref} not paid", "Our invoice {ref} dated last month is still unpaid. Please advise."),
    ("Payment not processed for {ref}", "The payment run on Friday skipped {ref}; remittance missing."),
    ("PO {ref} approval stuck", "Purchase order {ref} has been waiting for approval for 9 days."),
    ("GRN quantity mismatch on {ref}", "We shipped 120 units but the goods receipt shows 100."),
    ("KYC pending - vendor {ref}", "We submitted the KYC documents twice; the portal still says pending."),
    ("Remittance advice request {ref}", "Could you send the remittance advice for {ref}, please?"),
    ("Facture {ref} impayée", "Bonjour, la facture {ref} n'a toujours pas été réglée. Merci."),
]
BASE_DATE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _headers(msg: EmailMessage, n: int, sender: str, subject: str, message_id: str | None) -> None:
    msg["From"] = sender
    msg["To"] = INTAKE
    msg["Subject"] = subject
    msg["Date"] = format_datetime(BASE_DATE + timedelta(minutes=7 * n))
    if message_id is not None:
        msg["Message-ID"] = f"<{message_id}>"


def _as_bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=policy.SMTP)  # CRLF line ends: what IMAP stores and hands back


def build_corpus(rng: random.Random, tag: str) -> Corpus:
    """~300 messages in delivery order: parents before replies, originals before re-deliveries."""
    mails: list[Mail] = []
    n = 0

    def new_request(with_id: bool) -> Mail:
        nonlocal n
        n += 1
        name, address = rng.choice(VENDORS)
        if rng.random() < 0.15:
            name, address = "", rng.choice(BUYERS)
        subject_t, body_t = rng.choice(TOPICS)
        ref = f"{rng.choice(['INV', 'PO', 'GRN', 'V'])}-{rng.randint(10000, 99999)}"
        message_id = f"{tag}.{n}.{rng.getrandbits(32):08x}@{address.split('@')[1]}" if with_id else None
        msg = EmailMessage()
        _headers(msg, n, f"{name} <{address}>" if name else address, subject_t.format(ref=ref), message_id)
        text = f"Hello AP team,\n\n{body_t.format(ref=ref)}\n\nRegards,\n{name or address}\n(request {n})\n"
        msg.set_content(text)
        if rng.random() < 0.2:
            msg.add_alternative(f"<p>{body_t.format(ref=ref)}</p><p><b>{name}</b> #{n}</p>", subtype="html")
        attachments = 0
        if rng.random() < 0.06:
            pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" + rng.randbytes(600) + b"\n%%EOF\n"
            msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{ref}.pdf")
            attachments += 1
            if rng.random() < 0.5:
                csv = f"line,item,qty,price\n1,widget,{rng.randint(1, 500)},9.90\n".encode()
                msg.add_attachment(csv, maintype="text", subtype="csv", filename=f"{ref}-lines.csv")
                attachments += 1
        return Mail(_as_bytes(msg), "new" if with_id else "no_id", message_id, attachments=attachments)

    for i in range(273):
        mails.append(new_request(with_id=i % 55 != 54))  # 5 without a Message-ID

    def insert_after(anchor: Mail, mail: Mail) -> None:
        at = next(i for i, m in enumerate(mails) if m is anchor)
        mails.insert(rng.randint(at + 1, len(mails)), mail)

    # Replies: 7 to new requests, 3 to earlier replies (the chain must stay on the first ticket).
    replies: list[Mail] = []
    for r in range(10):
        parent = rng.choice(replies) if r >= 7 else rng.choice([m for m in mails if m.kind == "new"])
        assert parent.message_id is not None
        n += 1
        msg = EmailMessage()
        sender = _from_of(parent)
        message_id = f"{tag}.re{r}.{rng.getrandbits(32):08x}@mail.example"
        _headers(msg, n, sender, f"Re: {_subject_of(parent)}", message_id)
        msg["In-Reply-To"] = f"<{parent.message_id}>"
        chain = [parent.message_id] if parent.parent is None else [parent.parent, parent.message_id]
        msg["References"] = " ".join(f"<{m}>" for m in chain)
        msg.set_content(f"Any update on this? Still waiting (reply {r}).\n\n> earlier message quoted\n")
        reply = Mail(_as_bytes(msg), "reply", message_id, parent=parent.message_id)
        insert_after(parent, reply)
        replies.append(reply)

    # Auto-replies to earlier requests: recorded, never a ticket, never threaded.
    for a in range(10):
        parent = rng.choice([m for m in mails if m.kind == "new"])
        n += 1
        msg = EmailMessage()
        message_id = f"{tag}.ooo{a}.{rng.getrandbits(32):08x}@autoreply.example"
        _headers(msg, n, f"Out of Office <ooo{a}@vendor-ooo.example>", "Automatic reply: away", message_id)
        msg["Auto-Submitted"] = "auto-replied"
        msg["In-Reply-To"] = f"<{parent.message_id}>"
        msg.set_content("I am out of the office until Monday and will have limited access to email.\n")
        insert_after(parent, Mail(_as_bytes(msg), "auto", message_id))

    # Exact re-deliveries (same bytes, so same Message-ID): three requests, a reply, an auto-reply.
    picks = [*rng.sample(mails_of(mails, "new"), 3), rng.choice(replies), rng.choice(mails_of(mails, "auto"))]
    for original in picks:
        insert_after(original, Mail(original.raw, "redelivery", original.message_id, parent=original.parent))

    # Garbage a broken relay might hand over: nothing but blank lines; a truncated header fragment.
    for garbage in (b"\r\n\r\n\t \r\n", b": \x80\x80\r\n\r\n \r\n"):
        mails.insert(rng.randint(0, len(mails)), Mail(garbage, "garbage"))
    return Corpus(mails)


def mails_of(mails: list[Mail], kind: str) -> list[Mail]:
    return [m for m in mails if m.kind == kind]


def _from_of(mail: Mail) -> str:
    return _header_of(mail, "From")


def _subject_of(mail: Mail) -> str:
    return _header_of(mail, "Subject")


def _header_of(mail: Mail, name: str) -> str:
    from email.parser import BytesParser

    value = BytesParser(policy=policy.default).parsebytes(mail.raw, headersonly=True)[name]
    return str(value)


# --- the poller subprocess ---------------------------------------------------------------------------


def _test_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created (test_p2pdesk, or test_p2pdesk_gwN)."""
    from django.db import connection

    s = connection.settings_dict
    password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{quote(s['USER'], safe='')}{password}@{s['HOST']}{port}/{quote(s['NAME'], safe='')}"


def _poller_env(files_dir: Path) -> dict[str, str]:
    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if k not in ("P2PDESK_ENCRYPTION_KEY", "DEBUG")}
    env.update(
        DATABASE_URL=_test_database_url(),
        DJANGO_SETTINGS_MODULE="config.settings",
        P2PDESK_FILES_DIR=str(files_dir),
        # The mailbox secret was encrypted here: the pollers must derive the same key.
        SECRET_KEY=settings.SECRET_KEY,
        LOG_LEVEL="WARNING",
    )
    if settings.P2PDESK_ENCRYPTION_KEY:
        env["P2PDESK_ENCRYPTION_KEY"] = settings.P2PDESK_ENCRYPTION_KEY
    return env


@dataclass
class Run:
    mode: str  # "startup": killed at a fixed instant after spawn; "work": after it took the lock; "finish"
    delay: float | None  # seconds after spawn ("startup") or after taking the lock ("work")
    killed: bool = False
    seconds: float = 0.0
    before: int = 0  # messages in the folder when the run started
    after: int = 0  # and when it had ended
    summary: dict[str, Any] | None = None

    def __str__(self) -> str:
        end = "killed" if self.killed else "skipped" if self.summary and self.summary["skipped"] else "done"
        delay = f"+{self.delay:.2f}s" if self.delay is not None else ""
        return f"{self.mode}{delay} {end} {self.before}->{self.after} ({self.seconds:.1f}s)"


class Pollers:
    """Starts `p2pdesk poll_mailboxes --mailbox NAME` subprocesses, one at a time, and kills them."""

    def __init__(self, name: str, mailbox_id: int, env: dict[str, str], imap: TestMailbox) -> None:
        self.name = name
        self.mailbox_id = mailbox_id
        self.env = env
        self.imap = imap
        self.runs: list[Run] = []
        self.started = time.monotonic()

    def left(self) -> int:
        """Messages still in the folder (STATUS, which changes nothing)."""
        with self.imap.server.client() as client:
            return int(client.folder_status(self.imap.folder, ["MESSAGES"])[b"MESSAGES"])

    def lock_held(self) -> bool:
        """Whether some session holds the mailbox's poll lock (the advisory lock DatabasePollLock takes)."""
        from django.db import connection

        from p2pdesk.infrastructure.persistence.locks import _MAILBOX_LOCK_NAMESPACE

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = %s AND objid = %s AND objsubid = 2",
                [_MAILBOX_LOCK_NAMESPACE, self.mailbox_id],
            )
            return bool(cursor.fetchone()[0])

    def check_budget(self) -> None:
        elapsed = time.monotonic() - self.started
        if len(self.runs) >= MAX_RUNS or elapsed > DEADLINE:
            history = "; ".join(map(str, self.runs))
            pytest.fail(f"gave up after {len(self.runs)} runs and {elapsed:.0f} s: {history}")

    def wait_for_lock_release(self) -> None:
        """A killed poller's session ends with its socket, and with it the lock: never for long."""
        until = time.monotonic() + LOCK_RELEASE_TIMEOUT
        while self.lock_held():
            if time.monotonic() > until:
                pytest.fail(f"the poll lock was still held {LOCK_RELEASE_TIMEOUT} s after the poller died")
            time.sleep(0.02)

    def run(self, mode: str, delay: float | None) -> Run:
        """One poller run, SIGKILLed `delay` s after spawn ("startup") or after taking the lock ("work")."""
        self.check_budget()
        run = Run(mode, delay, before=self.left())
        t0 = time.monotonic()
        proc = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
            [str(POLLER), "poll_mailboxes", "--mailbox", self.name],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            kill_at = t0 + delay if mode == "startup" and delay is not None else None
            give_up = min(t0 + RUN_TIMEOUT, self.started + DEADLINE)
            while proc.poll() is None and not run.killed:
                now = time.monotonic()
                if now > give_up:
                    pytest.fail(f"a poller ran for {now - t0:.0f} s, {now - self.started:.0f} s in all")
                if kill_at is None and mode == "work" and delay is not None and self.lock_held():
                    kill_at = time.monotonic() + delay
                if kill_at is not None and now >= kill_at:
                    proc.send_signal(signal.SIGKILL)
                    run.killed = True
                else:
                    time.sleep(0.005 if kill_at is None or kill_at - now > 0.005 else kill_at - now)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:  # only after a failure above: stop the process this test started
                proc.kill()
                proc.communicate(timeout=30)
        run.seconds = time.monotonic() - t0
        if proc.returncode == -signal.SIGKILL:
            run.killed = True  # the kill may land just as it was exiting on its own
            self.wait_for_lock_release()
        else:
            run.killed = False
            run.summary = _summary(proc, out, err, self.name)
        run.after = self.left()
        self.runs.append(run)
        return run

    def kill_repeatedly(self, rng: random.Random) -> None:
        """At least MIN_KILLS kills, each at a seeded random instant of a run."""
        while (kills := sum(r.killed for r in self.runs)) < MIN_KILLS:
            # Mostly while it works; every STARTUP_KILL_EVERY-th while it starts up. Once the folder is
            # empty a run ends too soon after taking the lock to be killed there: start-up kills only.
            if self.left() and kills % STARTUP_KILL_EVERY != STARTUP_KILL_EVERY - 1:
                self.run("work", rng.uniform(*WORK_KILL_DELAY))
            else:
                self.run("startup", rng.uniform(*STARTUP_KILL_DELAY))

    def finish(self) -> Run:
        """Runs until one finishes unskipped (one started as a killed run's session ends may not)."""
        while True:
            run = self.run("finish", None)
            assert run.summary is not None
            if run.summary["skipped"] is None:
                return run
            time.sleep(0.2)


def _summary(proc: subprocess.Popen[bytes], out: bytes, err: bytes, mailbox: str) -> dict[str, Any]:
    """The summary of a run that exited by itself; fails on any error."""
    assert proc.returncode == 0, f"poller exited {proc.returncode}:\n{err.decode(errors='replace')[-3000:]}"
    lines = [line for line in out.decode().splitlines() if line.startswith("[")]
    assert lines, f"no JSON summary in the poller's output:\n{out.decode(errors='replace')[-3000:]}"
    [summary] = json.loads(lines[-1])
    assert summary["mailbox"] == mailbox
    assert summary["error"] is None, summary
    return summary


# --- the test ----------------------------------------------------------------------------------------


def test_killing_the_poller_at_any_instant_loses_nothing_and_doubles_nothing(
    dovecot: TestMailbox, tmp_path: Path
) -> None:
    from p2pdesk import bootstrap
    from p2pdesk.application.principal import SYSTEM
    from p2pdesk.application.use_cases.manage_agents import CreateAgent
    from p2pdesk.application.use_cases.manage_mailboxes import SaveMailbox
    from p2pdesk.application.use_cases.manage_teams import CreateTeam
    from p2pdesk.infrastructure.persistence.models import (
        AgentRecord,
        AttachmentRecord,
        AuditEventRecord,
        InboundMessageRecord,
        MailboxRecord,
        QuarantineRecord,
        TicketMessageRecord,
        TicketRecord,
    )

    rng = random.Random(SEED)
    server = dovecot.server
    desk = bootstrap.desk()
    team_id = desk.teams.create(CreateTeam(name="Accounts Payable"), SYSTEM)
    agent_id = desk.agents.create(
        CreateAgent(email="ana@p2p.example", name="Ana", team_ids=[team_id]), SYSTEM
    )
    name = f"crash-{dovecot.folder}"
    mailbox_id = desk.mailboxes.create(
        SaveMailbox(
            name=name,
            kind="imap",
            settings={
                "host": server.host,
                "port": server.port,
                "security": "none",
                "username": server.user,
                "folder": dovecot.folder,
                "processed_folder": dovecot.processed_folder,
            },
            secret=server.password,
            default_team_id=team_id,
        ),
        SYSTEM,
    )

    corpus = build_corpus(rng, tag=dovecot.folder.lower())
    with server.client() as client:
        client.multiappend(dovecot.folder, [m.raw for m in corpus.mails])
    assert len(dovecot.messages()) == len(corpus.mails)
    validity = dovecot.uidvalidity()

    files_dir = tmp_path / "files"
    pollers = Pollers(name, mailbox_id, _poller_env(files_dir), dovecot)
    pollers.kill_repeatedly(rng)
    # What the last run must report, message by message, from what the killed runs left behind.
    left_over = [raw for _, (raw, _) in sorted(dovecot.messages().items())]
    taken_in = set(
        InboundMessageRecord.objects.filter(mailbox_id=mailbox_id).values_list("key_sha256", flat=True)
    )
    expected_last = corpus.expected_poll(left_over, taken_in)
    last = pollers.finish()
    seconds = time.monotonic() - pollers.started
    runs = pollers.runs
    killed = [r for r in runs if r.killed]
    print(f"\nIMAP intake crash test, seed {SEED}: " + "; ".join(map(str, runs)))
    print(
        f"{len(killed)} kills ({sum(r.mode == 'work' for r in killed)} while working), "
        f"{len(runs)} runs, {seconds:.1f} s"
    )

    # -- the IMAP side: everything moved, each message exactly once ----------------------------------
    assert dovecot.messages() == {}, "messages left in the folder"
    processed = [raw for raw, _ in dovecot.messages(dovecot.processed_folder).values()]
    assert len(processed) == len(corpus.mails)
    assert Counter(processed) == Counter(m.raw for m in corpus.mails)

    # -- the database side ----------------------------------------------------------------------------
    expected = corpus.expected_outcomes()
    keys = {m.key for m in corpus.mails if m.key is not None}
    mailbox = MailboxRecord.objects.get(id=mailbox_id)
    assert mailbox.last_error == ""
    # The cursor only saves re-reading: saved after the move, it may lag one batch behind a kill.
    assert mailbox.cursor["uidvalidity"] == validity
    assert 0 <= mailbox.cursor["last_uid"] <= len(corpus.mails)

    inbound = list(InboundMessageRecord.objects.filter(mailbox_id=mailbox_id))
    digests = Counter(r.key_sha256 for r in inbound)
    assert max(digests.values()) == 1, "two inbound records for one message key"
    lost = {digest(k) for k in keys} - set(digests)
    assert not lost, f"{len(lost)} messages moved to the processed folder but never taken in"
    assert set(digests) == {digest(k) for k in keys}
    assert len(inbound) == len(keys) == len(corpus.mails) - expected["duplicate"] - expected["quarantined"]
    outcomes = Counter(r.outcome for r in inbound)
    assert outcomes == {k: expected[k] for k in ("created", "threaded", "ignored")}
    no_id = {hashlib.sha256(m.raw).hexdigest() for m in corpus.of("no_id")}
    assert {r.raw_sha256 for r in inbound if not r.message_id} == no_id

    tickets = {t.id: t for t in TicketRecord.objects.filter(team_id=team_id)}
    assert TicketRecord.objects.count() == len(tickets)
    assert len(tickets) == expected["created"], "tickets vs new requests: one opened twice, or lost"
    created_for = {r.message_id or r.raw_sha256: r.ticket_id for r in inbound if r.outcome == "created"}
    assert len(set(created_for.values())) == len(tickets) == len(created_for)
    assert all(t.agent_id == agent_id for t in tickets.values()), "every ticket assigned to the one agent"
    assert AgentRecord.objects.get(id=agent_id).total_assigned == len(tickets)

    thread = list(TicketMessageRecord.objects.filter(ticket__team_id=team_id, direction="inbound"))
    assert len(thread) == expected["created"] + expected["threaded"]
    per_ticket_id = Counter((m.ticket_id, m.message_id) for m in thread if m.message_id)
    assert max(per_ticket_id.values()) == 1, "a ticket holds the same message twice"
    assert sum(1 for m in thread if not m.message_id) == len(no_id)
    ticket_of = {m.message_id: m.ticket_id for m in thread if m.message_id}
    assert len(ticket_of) == expected["created"] - len(no_id) + expected["threaded"]
    for reply in corpus.of("reply"):
        root = corpus.root_of(reply.message_id)  # type: ignore[arg-type]
        assert ticket_of[reply.message_id] == ticket_of[root] == created_for[root], reply.message_id
    for mail in corpus.of("auto"):
        assert mail.message_id not in ticket_of
    attachments = list(AttachmentRecord.objects.filter(message__ticket__team_id=team_id))
    assert len(attachments) == sum(m.attachments for m in corpus.of("new", "no_id"))

    quarantined = list(QuarantineRecord.objects.filter(mailbox_id=mailbox_id))
    garbage = {hashlib.sha256(m.raw).hexdigest() for m in corpus.of("garbage")}
    assert {q.raw_sha256 for q in quarantined} == garbage
    assert len(quarantined) == expected["quarantined"]
    assert all(q.attempts >= 1 and q.resolved_at is None for q in quarantined)

    # Every appended message accounted for: a thread entry, an ignored record, a duplicate, quarantine.
    record = {r.key_sha256: r for r in inbound}
    first_of = {}
    for mail in corpus.mails:
        first_of.setdefault(mail.raw, mail)
    for mail in corpus.mails:
        if mail.key is None:
            assert hashlib.sha256(mail.raw).hexdigest() in garbage
            continue
        row = record[digest(mail.key)]
        if mail.kind == "redelivery":  # the original's one record: no row of its own
            original = first_of[mail.raw]
            assert original is not mail
            assert row.outcome == OUTCOME[original.kind]
            assert sum(1 for m in corpus.mails if m.key == mail.key) == 2
        else:
            assert row.outcome == OUTCOME[mail.kind], (mail.kind, mail.message_id)
        if row.outcome == "ignored":
            assert row.ticket_id is None
        else:
            assert row.ticket_id in tickets
            assert mail.message_id is None or ticket_of[mail.message_id] == row.ticket_id
    # The raw bytes of everything taken in are kept, intact, in the file store.
    for sha, key in [(r.raw_sha256, r.raw_key) for r in inbound] + [
        (q.raw_sha256, q.raw_key) for q in quarantined
    ]:
        assert hashlib.sha256((files_dir / key).read_bytes()).hexdigest() == sha
    for attachment in attachments:
        stored = (files_dir / attachment.storage_key).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == attachment.sha256

    created_events = Counter(
        AuditEventRecord.objects.filter(entity_type="ticket", action="ticket.created").values_list(
            "entity_id", flat=True
        )
    )
    assert created_events == {str(t): 1 for t in tickets}, "ticket.created audit events per ticket"

    # The last run reports each message it moved once: duplicates there, never extra rows here.
    assert last.summary is not None
    assert last.summary["outcomes"] == dict(expected_last), "the last run's outcomes"

    print(
        f"{len(corpus.mails)} messages {dict(expected)}; last run {last.summary['outcomes']} as "
        f"expected; tickets {len(tickets)}, inbound records {len(inbound)}, quarantined "
        f"{len(quarantined)} (attempts {sorted(q.attempts for q in quarantined)})"
    )
