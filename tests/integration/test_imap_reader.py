"""ImapMailboxReader against the real loopback Dovecot (shared/scripts/dovecot_test_setup.sh)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from imapclient import DELETED, SEEN, IMAPClient
from structlog.testing import CapturingLogger

from p2pdesk.infrastructure.email import imap
from p2pdesk.infrastructure.email.imap import ImapMailboxReader, ImapSettings
from p2pdesk.ports.mailboxes import FetchBatch, MailboxUnavailable
from tests.integration.dovecot import TestMailbox

pytestmark = pytest.mark.imap


def message(n: int, body: bytes = b"") -> bytes:
    """An RFC 5322 message with CRLF line ends (what IMAP hands back), 8-bit bytes included."""
    return (
        b"From: Vendor <ap@vendor.example>\r\n"
        b"To: intake@example.test\r\n"
        b"Subject: Invoice INV-%d not paid\r\n"
        b"Message-ID: <inv-%d@vendor.example>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Bonjour, la facture n\xc2\xb0%d est en retard.\r\n" % (n, n, n)
    ) + body


def settings(mailbox: TestMailbox, **overrides: object) -> ImapSettings:
    server = mailbox.server
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": server.user,
        "password": server.password,
        "folder": mailbox.folder,
        "processed_folder": mailbox.processed_folder,
        "timeout": 30.0,
    }
    values.update(overrides)
    return ImapSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def reader(dovecot: TestMailbox) -> Iterator[ImapMailboxReader]:
    reader = ImapMailboxReader(settings(dovecot))
    yield reader
    reader.close()


class FixedToken:
    """A token source that always answers the same token (which the test server never accepts)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def forget(self) -> None:
        pass


def raws(batch: FetchBatch) -> list[bytes]:
    return [m.raw for m in batch.messages]


def test_fetch_returns_new_messages_in_uid_order_with_their_exact_bytes(
    dovecot: TestMailbox, reader: ImapMailboxReader
) -> None:
    sent = [message(n) for n in range(1, 4)]
    uids = [dovecot.append(raw) for raw in sent]
    validity = dovecot.uidvalidity()

    batch = reader.fetch({}, limit=10)

    assert uids == [1, 2, 3]
    assert [m.ref for m in batch.messages] == [f"{validity}:1", f"{validity}:2", f"{validity}:3"]
    assert raws(batch) == sent
    assert batch.cursor == {"uidvalidity": validity, "last_uid": 3}
    assert batch.more is False


def test_fetching_leaves_messages_unseen_and_in_place(
    dovecot: TestMailbox, reader: ImapMailboxReader
) -> None:
    dovecot.append(message(1))
    dovecot.append(message(2))

    assert len(reader.fetch({}, limit=10).messages) == 2

    after = dovecot.messages()
    assert sorted(after) == [1, 2]
    assert all(SEEN not in flags for _, flags in after.values())


def test_limit_splits_the_folder_into_batches_and_more_says_when_to_go_on(
    dovecot: TestMailbox, reader: ImapMailboxReader
) -> None:
    sent = [message(n) for n in range(1, 6)]
    for raw in sent:
        dovecot.append(raw)

    first = reader.fetch({}, limit=2)
    second = reader.fetch(first.cursor, limit=2)
    third = reader.fetch(second.cursor, limit=2)

    assert (len(first.messages), first.more, first.cursor["last_uid"]) == (2, True, 2)
    assert (len(second.messages), second.more, second.cursor["last_uid"]) == (2, True, 4)
    assert (len(third.messages), third.more, third.cursor["last_uid"]) == (1, False, 5)
    assert raws(first) + raws(second) + raws(third) == sent


def test_cursor_continues_where_it_stopped_and_a_quiet_folder_yields_nothing(
    dovecot: TestMailbox, reader: ImapMailboxReader
) -> None:
    dovecot.append(message(1))
    dovecot.append(message(2))
    first = reader.fetch({}, limit=10)
    # The server quirk the reader must filter: `UID 3:*` matches UID 2, the highest in use.
    with dovecot.server.client() as client:
        client.select_folder(dovecot.folder, readonly=True)
        assert client.search(["UID", "3:*"]) == [2]

    quiet = reader.fetch(first.cursor, limit=10)
    assert quiet.messages == []
    assert quiet.more is False
    assert quiet.cursor == first.cursor

    dovecot.append(message(3))
    later = reader.fetch(quiet.cursor, limit=10)
    assert raws(later) == [message(3)]
    assert later.cursor == {"uidvalidity": first.cursor["uidvalidity"], "last_uid": 3}


def test_acknowledge_moves_exactly_the_acknowledged_messages(
    dovecot: TestMailbox, reader: ImapMailboxReader
) -> None:
    for n in range(1, 5):
        dovecot.append(message(n))
    refs = [m.ref for m in reader.fetch({}, limit=10).messages]
    assert dovecot.messages(dovecot.processed_folder) == {}  # the folder does not exist yet

    reader.acknowledge([refs[0], refs[2]])

    inbox = dovecot.messages()
    assert {uid: raw for uid, (raw, _) in inbox.items()} == {2: message(2), 4: message(4)}
    assert all(DELETED not in flags for _, flags in inbox.values())
    processed = dovecot.messages(dovecot.processed_folder)
    assert sorted(raw for raw, _ in processed.values()) == [message(1), message(3)]

    # A retry after a crash acknowledges the same refs again: nothing else moves, nothing fails.
    reader.acknowledge([refs[0], refs[2]])
    assert sorted(dovecot.messages()) == [2, 4]
    assert len(dovecot.messages(dovecot.processed_folder)) == 2


def test_without_move_acknowledge_copies_and_expunges_only_its_own_uids(
    dovecot: TestMailbox, reader: ImapMailboxReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_has_capability = IMAPClient.has_capability
    monkeypatch.setattr(
        IMAPClient, "has_capability", lambda self, cap: cap != "MOVE" and real_has_capability(self, cap)
    )
    for n in range(1, 4):
        dovecot.append(message(n))
    refs = [m.ref for m in reader.fetch({}, limit=10).messages]
    # Someone else marked message 3 deleted: a bare EXPUNGE would take it with ours.
    with dovecot.server.client() as client:
        client.select_folder(dovecot.folder)
        client.add_flags([3], [DELETED])

    reader.acknowledge([refs[0]])

    assert sorted(dovecot.messages()) == [2, 3]
    assert [raw for raw, _ in dovecot.messages(dovecot.processed_folder).values()] == [message(1)]


def test_a_uidvalidity_change_restarts_from_the_first_uid_and_stale_refs_stay_put(
    dovecot: TestMailbox, reader: ImapMailboxReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.append(message(1))
    dovecot.append(message(2))
    before = reader.fetch({}, limit=10)
    old_validity = before.cursor["uidvalidity"]
    stale_refs = [m.ref for m in before.messages]

    dovecot.set_uidvalidity(old_validity + 1000)  # Dovecot disconnects sessions that then sync the folder

    after = reader.fetch(before.cursor, limit=10)
    new_validity = old_validity + 1000
    assert dovecot.uidvalidity() == new_validity
    assert [m.ref for m in after.messages] == [f"{new_validity}:1", f"{new_validity}:2"]
    assert raws(after) == [message(1), message(2)]
    assert after.cursor == {"uidvalidity": new_validity, "last_uid": 2}

    captured = CapturingLogger()
    monkeypatch.setattr(imap, "log", captured)
    reader.acknowledge(stale_refs)

    assert sorted(dovecot.messages()) == [1, 2]
    assert dovecot.messages(dovecot.processed_folder) == {}
    [call] = captured.calls
    assert (call.method_name, call.args) == ("warning", ("imap.ack_skipped",))
    assert call.kwargs["stale_refs"] == stale_refs
    assert call.kwargs["uidvalidity"] == new_validity
    assert dovecot.server.password not in repr(call)


def test_a_wrong_password_is_mailbox_unavailable_without_the_password(dovecot: TestMailbox) -> None:
    wrong = "not-the-Secret-9f2c"
    reader = ImapMailboxReader(settings(dovecot, password=wrong))

    with pytest.raises(MailboxUnavailable, match="login") as raised:
        reader.fetch({}, limit=10)

    assert wrong not in str(raised.value)
    assert "AUTHENTICATIONFAILED" in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__ is True
    assert wrong not in repr(reader._settings)
    reader.close()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # The test server offers neither TLS nor XOAUTH2: each must fail, never fall back.
        ({"security": "starttls"}, "STARTTLS"),
        ({"security": "ssl"}, "cannot connect"),
        ({"password": None, "tokens": FixedToken("ya29.not-a-real-token-7c1e")}, "XOAUTH2 login"),
    ],
)
def test_tls_and_oauth_are_required_when_configured(
    dovecot: TestMailbox, overrides: dict[str, object], expected: str
) -> None:
    reader = ImapMailboxReader(settings(dovecot, **overrides))

    with pytest.raises(MailboxUnavailable, match=expected) as raised:
        reader.fetch({}, limit=10)

    assert "ya29" not in str(raised.value)
    assert dovecot.server.password not in str(raised.value)
    reader.close()


def test_an_unreachable_server_is_mailbox_unavailable(dovecot: TestMailbox) -> None:
    reader = ImapMailboxReader(settings(dovecot, port=1, timeout=5.0))  # nothing listens on port 1

    with pytest.raises(MailboxUnavailable, match="cannot connect"):
        reader.fetch({}, limit=10)


def test_a_5_mb_message_round_trips_byte_for_byte(dovecot: TestMailbox, reader: ImapMailboxReader) -> None:
    line = b"".join(bytes([65 + (i % 26)]) for i in range(76)) + b"\r\n"
    raw = message(1, body=line * (5 * 1024 * 1024 // len(line)))
    assert len(raw) > 5_000_000
    dovecot.append(raw)

    batch = reader.fetch({}, limit=10)
    assert len(batch.messages) == 1
    assert batch.messages[0].raw == raw

    reader.acknowledge([batch.messages[0].ref])
    assert [r for r, _ in dovecot.messages(dovecot.processed_folder).values()] == [raw]
    assert dovecot.messages() == {}


def test_a_dropped_connection_is_replaced_without_failing_the_fetch(
    dovecot: TestMailbox, reader: ImapMailboxReader
) -> None:
    dovecot.append(message(1))
    first = reader.fetch({}, limit=10)
    # What an idle timeout or a network drop leaves behind: a kept connection that is dead.
    assert reader._client is not None
    reader._client.socket().shutdown(socket.SHUT_RDWR)

    dovecot.append(message(2))
    assert raws(reader.fetch(first.cursor, limit=10)) == [message(2)]


def test_the_reader_reconnects_after_close(dovecot: TestMailbox, reader: ImapMailboxReader) -> None:
    dovecot.append(message(1))
    first = reader.fetch({}, limit=10)
    reader.close()
    reader.close()  # closing twice is harmless

    dovecot.append(message(2))
    assert raws(reader.fetch(first.cursor, limit=10)) == [message(2)]
