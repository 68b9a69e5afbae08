"""The MIME parser adapter on real-world and hand-written hard mail, storing into a LocalFileStore.

No database: these tests read bytes and write files under pytest's tmp_path only.
"""

from __future__ import annotations

import base64
import email
import hashlib
import io
import os
import time
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import BinaryIO

import pytest

from p2pdesk.infrastructure.email.parsing import EmailMessageParser
from p2pdesk.infrastructure.storage import LocalFileStore
from p2pdesk.ports.mail import ParsedAttachment, ParsedMessage, StoredFile, UnparseableMessage

DATA = Path(__file__).resolve().parent.parent / "data" / "mail"


def _cpython_corpus() -> list[Path]:
    try:
        import test.test_email  # CPython's own test package, absent from slim builds
    except ImportError:
        return []
    return sorted((Path(test.test_email.__file__).parent / "data").glob("msg_*.txt"))


CORPUS = _cpython_corpus()
needs_corpus = pytest.mark.skipif(
    not CORPUS, reason="CPython's email test corpus (test/test_email/data) is not installed with this Python"
)


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files")


@pytest.fixture
def parser(store: LocalFileStore) -> EmailMessageParser:
    return EmailMessageParser(store)


def parse_path(parser: EmailMessageParser, path: Path) -> ParsedMessage:
    with path.open("rb") as raw:
        return parser.parse(raw)


def parse_fixture(parser: EmailMessageParser, name: str) -> ParsedMessage:
    return parse_path(parser, DATA / name)


def corpus_file(name: str) -> Path:
    matches = [path for path in CORPUS if path.name == name]
    if not matches:
        pytest.skip(f"{name} is not in this Python's email test corpus")
    return matches[0]


def stored_bytes(store: LocalFileStore, attachment: ParsedAttachment) -> bytes:
    assert attachment.storage_key is not None
    with store.open(attachment.storage_key) as fh:
        return fh.read()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def by_name(message: ParsedMessage) -> dict[str, ParsedAttachment]:
    return {attachment.filename: attachment for attachment in message.attachments}


# -- CPython's real-world corpus -------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.name)
def test_every_corpus_message_parses(parser: EmailMessageParser, store: LocalFileStore, path: Path) -> None:
    raw = path.read_bytes()
    try:
        message = parser.parse(io.BytesIO(raw))
    except UnparseableMessage as exc:  # allowed, with a reason; none of CPython's corpus needs it today
        reason = str(exc)
        message = None
    if message is None:
        assert reason, "an unparseable message must say why"
        return
    assert message.raw_sha256 == sha256(raw)
    assert message.raw_size == len(raw)
    for text in (message.text, message.new_text, message.subject):
        assert "\x00" not in text
    assert "\n" not in message.subject
    for attachment in message.attachments:
        if attachment.storage_key is not None:
            data = stored_bytes(store, attachment)
            assert (len(data), sha256(data)) == (attachment.size, attachment.sha256)


@needs_corpus
def test_corpus_plain_message(parser: EmailMessageParser) -> None:
    message = parse_path(parser, corpus_file("msg_01.txt"))
    assert message.subject == "This is a test message"
    assert (message.from_address, message.from_name) == ("bbb@ddd.com", "John X. Doe")
    assert message.message_id == "15090.61304.110929.45684@aaa.zzz.org"
    assert message.date == datetime(2001, 5, 4, 14, 5, 44, tzinfo=timezone(timedelta(hours=-4)))
    assert message.attachments == ()
    assert message.text == "Hi,\n\nDo you like this message?\n\n-Me"


@needs_corpus
def test_corpus_gif_attachment_matches_the_stdlib(parser: EmailMessageParser, store: LocalFileStore) -> None:
    path = corpus_file("msg_07.txt")
    message = parse_path(parser, path)
    assert message.subject == "Here is your dingus fish"
    assert (message.from_address, message.from_name) == ("barry@digicool.com", "Barry")
    assert message.message_id is None
    assert len(message.attachments) == 1
    gif = message.attachments[0]
    assert (gif.filename, gif.content_type) == ("dingusfish.gif", "image/gif")
    expected = email.message_from_bytes(path.read_bytes()).get_payload()[1].get_payload(decode=True)
    assert stored_bytes(store, gif) == expected
    assert gif.size == len(expected) == 3512
    assert stored_bytes(store, gif).startswith(b"GIF87a")


@needs_corpus
def test_corpus_bounce_with_returned_message(parser: EmailMessageParser) -> None:
    message = parse_path(parser, corpus_file("msg_16.txt"))
    assert message.subject == "Delivery Notification: Delivery has failed"
    assert message.from_address == "postmaster@ucla.edu"
    assert message.message_id == "0GK500B04D0B8X@cougar.noc.ucla.edu"
    assert [a.content_type for a in message.attachments] == ["message/delivery-status", "message/rfc822"]
    assert message.automation_headers["precedence"] == "bulk"
    assert message.automation_headers["return-path"] == "<>"
    (returned,) = message.forwarded
    assert returned.subject == "[scr] yeah for Ians!!"
    assert returned.from_address == "henryi@oxy.edu"
    assert returned.message_id == "002001c144a6$8752e060$56104586@oxy.edu"


@needs_corpus
def test_corpus_digest_and_report(parser: EmailMessageParser) -> None:
    digest = parse_path(parser, corpus_file("msg_02.txt"))
    assert digest.subject == "Ppp digest, Vol 1 #2 - 5 msgs"
    assert len(digest.attachments) == len(digest.forwarded) == 5
    assert digest.forwarded[0].subject == "[Ppp] testing #1"
    assert {f.from_address for f in digest.forwarded} == {"barry@digicool.com"}

    report = parse_path(parser, corpus_file("msg_43.txt"))
    assert report.report_type == "delivery-status"
    assert report.message_id == "edab.7804f5cb8070@python.org"
    assert report.subject == "Banned file: auto__mail.python.bat in mail from you"


@needs_corpus
def test_corpus_broken_boundary_keeps_the_text(parser: EmailMessageParser) -> None:
    message = parse_path(parser, corpus_file("msg_15.txt"))
    assert message.subject == "XX"
    assert message.message_id == "xxxx"  # no angle brackets in the source
    assert "StartBoundaryNotFoundDefect" in message.defects
    assert "Some removed test." in message.text


# -- hand-written hard cases -----------------------------------------------------------------------


def test_windows_1252_body_without_charset(parser: EmailMessageParser) -> None:
    message = parse_fixture(parser, "cp1252_body_without_charset.eml")
    assert "die Rechnung über 1.234,56 € \u2013 bitte prüfen und „freigeben“." in message.text
    assert any("cp1252" in defect for defect in message.defects)


def test_unknown_charset_label_falls_back(parser: EmailMessageParser) -> None:
    message = parse_fixture(parser, "unknown_charset.eml")
    assert message.text == "Grüße aus Köln, die Zahlung für PO 4500012345 fehlt."
    assert message.subject == "Grüße aus Köln"
    assert "unknown charset 'x-unknown' in text body" in message.defects


def test_nul_bytes_are_stripped(parser: EmailMessageParser) -> None:
    message = parse_fixture(parser, "nul_bytes.eml")
    assert message.text == "PO 4500012345 approved.\nAmount: 99.00"
    assert message.subject == "Scan PO 4500012345"


def test_300_character_message_id_and_messy_references(parser: EmailMessageParser) -> None:
    message = parse_fixture(parser, "long_message_id.eml")
    long_id = "a1b2c3d4e5" * 28 + "@mail.vendor.example"
    assert message.message_id == long_id
    assert len(long_id) == 300
    assert message.in_reply_to == (long_id,)
    assert message.references == ("first@p2pdesk.example", "second@p2pdesk.example", "third@p2pdesk.example")
    assert message.date == datetime(2025, 3, 5, 19, 30, tzinfo=UTC)


def test_message_ids_are_capped_at_998_characters(parser: EmailMessageParser) -> None:
    huge = "x" * 5000 + "@example.com"
    raw = f"From: a@example.com\nMessage-ID: <{huge}>\nReferences: <{huge}> <ok@example.com>\n\nbody\n"
    message = parser.parse(io.BytesIO(raw.encode()))
    assert message.message_id == huge[:998]
    assert message.references == (huge[:998], "ok@example.com")


def test_raw_utf8_headers(parser: EmailMessageParser) -> None:
    message = parse_fixture(parser, "raw_utf8_headers.eml")
    assert message.subject == "Zahlung nicht erhalten \u2013 Rechnung Nr. 4711 für März"
    assert (message.from_address, message.from_name) == ("juergen.mueller@lieferant.de", "Jürgen Müller")
    assert message.to == ("ap@p2pdesk.example", "anna.weiss@p2pdesk.example")
    assert message.cc == ("fb@p2pdesk.example",)
    assert message.text == "Bitte um Prüfung."


def test_utf8_body_keeps_backslashes(parser: EmailMessageParser) -> None:
    message = parse_fixture(parser, "utf8_backslashes.eml")
    assert r"C:\Users\ap\invoices\März" + " \u2013 bitte prüfen." in message.text
    assert r"\\fileserver\p2p\new\2025 und \u00e4 bleibt wörtlich." in message.text


def test_rfc2231_and_rfc2047_filenames(parser: EmailMessageParser, store: LocalFileStore) -> None:
    message = parse_fixture(parser, "rfc2231_filenames.eml")
    assert [a.filename for a in message.attachments] == [
        "Rechnung_März.pdf",
        "Lieferschein_Größe.pdf",
        "Gutschrift_über_100€.pdf",  # continuation labelled iso-8859-1, written in cp1252
    ]
    for attachment in message.attachments:
        assert attachment.content_type == "application/pdf"
        assert stored_bytes(store, attachment).startswith(b"%PDF-1.4")


def test_every_attachment_kind_is_kept(parser: EmailMessageParser, store: LocalFileStore) -> None:
    message = parse_fixture(parser, "all_attachment_kinds.eml")
    assert message.text == "Please find the documents attached."
    files = by_name(message)
    assert set(files) == {
        "Offene_Posten.xlsx",
        "invoice-4711.xml",
        "belege.zip",
        "attachment-4.ics",  # a calendar part without a name gets one from its type
        "winmail.dat",
        "PO-4500012345.pdf",
        "stempel.png",
    }
    magic = {
        "Offene_Posten.xlsx": b"PK\x03\x04",
        "belege.zip": b"PK\x03\x04",
        "invoice-4711.xml": b"<?xml",
        "attachment-4.ics": b"BEGIN:VCALENDAR\r\n",
        "winmail.dat": b"\x78\x9f\x3e\x22",
        "PO-4500012345.pdf": b"%PDF-",
        "stempel.png": b"\x89PNG\r\n\x1a\n",
    }
    for name, prefix in magic.items():
        data = stored_bytes(store, files[name])
        assert data.startswith(prefix), name
        assert (len(data), sha256(data)) == (files[name].size, files[name].sha256)
    assert files["attachment-4.ics"].content_type == "text/calendar"
    assert files["winmail.dat"].content_type == "application/ms-tnef"
    assert files["winmail.dat"].size == 4 + 512
    assert not any(a.inline for a in message.attachments)


def test_html_only_is_sanitised_and_keeps_the_inline_image(
    parser: EmailMessageParser, store: LocalFileStore
) -> None:
    message = parse_fixture(parser, "html_only_script_cid.eml")
    assert message.html is not None
    assert "<script" not in message.html
    assert "alert(" not in message.html
    assert "onload" not in message.html
    assert "javascript:" not in message.html
    assert 'src="cid:logo@portal.example"' in message.html
    assert '<a href="https://portal.example/inv/9"' in message.html
    assert message.text == "Invoice INV-9 is blocked at step GRN.\n\nOpen in portal"
    logo, other = message.attachments
    assert (logo.filename, logo.content_id, logo.inline) == ("logo.png", "logo@portal.example", True)
    assert stored_bytes(store, logo).startswith(b"\x89PNG")
    # not referenced from the HTML, but an image marked inline
    assert (other.filename, other.content_id) == ("attachment-2.png", "unused@portal.example")
    assert other.inline


def test_nested_forward(parser: EmailMessageParser, store: LocalFileStore) -> None:
    message = parse_fixture(parser, "nested_forward.eml")
    assert message.text == "Please take this one."
    (outer_eml,) = message.attachments
    assert (outer_eml.filename, outer_eml.content_type) == ("Fwd Invoice 4711.eml", "message/rfc822")
    (middle,) = message.forwarded
    assert (middle.subject, middle.message_id) == ("Fwd: Invoice 4711 disputed", "middle@p2pdesk.example")
    assert middle.text == "Vendor says we short-paid."
    assert middle.raw_sha256 == outer_eml.sha256
    (inner,) = middle.forwarded
    assert (inner.subject, inner.from_address) == ("Invoice 4711 disputed", "ar@vendor.example")
    assert inner.text == "The payment was 120.00 short."
    assert [a.filename for a in inner.attachments] == ["statement.pdf"]
    assert stored_bytes(store, inner.attachments[0]).startswith(b"%PDF-")
    # The kept .eml is a message that parses back to the same thing.
    again = parser.parse(io.BytesIO(stored_bytes(store, outer_eml)))
    assert again.subject == middle.subject
    assert again.forwarded[0].message_id == "innermost@vendor.example"


def test_delivery_status_report(parser: EmailMessageParser, store: LocalFileStore) -> None:
    message = parse_fixture(parser, "dsn_report.eml")
    assert message.report_type == "delivery-status"
    assert message.from_address == "mailer-daemon@mx.p2pdesk.example"
    assert message.automation_headers == {"auto-submitted": "auto-replied", "return-path": "<>"}
    assert "550 5.1.1 User unknown" in message.text
    status, original = message.attachments
    assert status.content_type == "message/delivery-status"
    report = stored_bytes(store, status)
    assert b"Final-Recipient: rfc822; nobody@vendor.example" in report
    assert b"Status: 5.1.1" in report
    assert original.content_type == "message/rfc822"
    (bounced,) = message.forwarded
    assert bounced.message_id == "ticket-1042-reply@p2pdesk.example"
    assert bounced.subject == "[P2P-1042] Missing GRN for PO 4500012345"


def test_out_of_office_headers(parser: EmailMessageParser) -> None:
    message = parse_fixture(parser, "out_of_office.eml")
    assert message.automation_headers == {
        "auto-submitted": "auto-replied",
        "x-autoreply": "yes",
        "x-auto-response-suppress": "All",
        "return-path": "<anna.weber@vendor.example>",
    }
    assert message.in_reply_to == ("ticket-1042-reply@p2pdesk.example",)
    assert message.text == "Ich bin bis zum 17. März nicht im Büro."


def test_list_mail_headers(parser: EmailMessageParser) -> None:
    message = parse_fixture(parser, "list_mail.eml")
    headers = message.automation_headers
    assert headers["precedence"] == "bulk"
    assert headers["list-id"] == "Vendor AP announcements <ap-announce.lists.vendor.example>"
    assert headers["list-unsubscribe"] == (
        "<mailto:ap-announce-leave@lists.vendor.example>, <https://lists.vendor.example/unsubscribe>"
    )
    assert headers["x-loop"] == "ap-announce@lists.vendor.example"


def test_no_message_id_and_a_garbage_date(parser: EmailMessageParser) -> None:
    message = parse_fixture(parser, "no_message_id.eml")
    assert message.message_id is None
    assert message.in_reply_to == message.references == ()
    assert message.date is None
    assert "unparseable Date header" in message.defects
    assert message.subject == "Payment advice 991"


def test_german_outlook_reply_without_the_quote(parser: EmailMessageParser) -> None:
    message = parse_fixture(parser, "outlook_german_reply.eml")
    assert message.new_text == (
        "Hallo Frau Weber,\n\n"
        "anbei die fehlende Rechnung RE-2025-0042, der Betrag beträgt 1.200,00 EUR.\n\n"
        "Viele Grüße\nAnna Schmidt"
    )
    assert "Von: Kreditoren <ap@p2pdesk.example>" in message.text
    assert "uns liegt die Rechnung zur Bestellung 4500012345 nicht vor." in message.text
    assert "\r" not in message.text
    assert message.subject == "AW: [P2P-1042] Rechnung fehlt"
    assert message.references == ("ticket-1042@p2pdesk.example", "ticket-1042-reply@p2pdesk.example")


def test_english_reply_without_the_quote(parser: EmailMessageParser) -> None:
    raw = (
        b"From: vendor@example.com\nSubject: Re: PO 77\nContent-Type: text/plain\n\n"
        b"Shipped today.\n\nOn Mon, 3 Mar 2025 at 10:00, AP Desk <ap@p2pdesk.example> wrote:\n"
        b"> Where is PO 77?\n"
    )
    message = parser.parse(io.BytesIO(raw))
    assert message.new_text == "Shipped today."
    assert "> Where is PO 77?" in message.text


def test_attachment_over_the_limit_is_recorded_not_stored(store: LocalFileStore) -> None:
    parser = EmailMessageParser(store, max_attachment_bytes=1024)
    message = parse_fixture(parser, "oversized_attachment.eml")
    large, small = message.attachments
    expected = bytes((i * 7) % 251 for i in range(4096))
    assert large.filename == "scan-large.tif"
    assert large.storage_key is None
    assert large.skipped_reason == "over the 1 KB limit"
    assert (large.size, large.sha256) == (4096, sha256(expected))
    assert small.storage_key is not None
    assert small.skipped_reason is None
    assert stored_bytes(store, small) == b"small-enough"
    stored = [p for p in store.root.rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [sha256(b"small-enough")]


def test_twenty_megabyte_attachment_is_stored_and_checksummed(
    parser: EmailMessageParser, store: LocalFileStore
) -> None:
    payload = os.urandom(20 * 1024 * 1024)
    outer = MIMEMultipart()
    outer["From"] = "Scanner <scanner@vendor.example>"
    outer["Subject"] = "Big scan"
    outer.attach(MIMEText("The scan is attached."))
    outer.attach(MIMEApplication(payload, "pdf", Name="scan.pdf"))
    raw = outer.as_bytes()
    del outer
    message = parser.parse(io.BytesIO(raw))
    (scan,) = message.attachments
    assert (scan.filename, scan.content_type) == ("scan.pdf", "application/pdf")
    assert (scan.size, scan.sha256) == (len(payload), sha256(payload))
    assert scan.storage_key is not None
    assert store.path(scan.storage_key).stat().st_size == len(payload)
    assert stored_bytes(store, scan) == payload
    assert message.raw_size == len(raw)


class RecordingStore:
    """A FileStore that records what it is handed, in front of a real one."""

    def __init__(self, inner: LocalFileStore) -> None:
        self.inner = inner
        self.calls: list[tuple[type, int | None]] = []

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredFile:
        self.calls.append((type(stream), max_bytes))
        return self.inner.put(stream, max_bytes=max_bytes)

    def open(self, key: str) -> BinaryIO:
        return self.inner.open(key)


def test_attachments_reach_the_store_as_streams_with_the_limit(store: LocalFileStore) -> None:
    recording = RecordingStore(store)
    parser = EmailMessageParser(recording, max_attachment_bytes=5_000_000)
    message = parse_fixture(parser, "nested_forward.eml")
    assert len(recording.calls) == 3  # the outer .eml, the inner .eml, the PDF inside it
    assert message.forwarded[0].forwarded[0].attachments[0].storage_key is not None
    for stream_type, max_bytes in recording.calls:
        assert not issubclass(stream_type, bytes | bytearray)
        assert hasattr(stream_type, "read")
        assert max_bytes == 5_000_000


# -- garbage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"  \r\n\r\n", b"\x00\x00\x00", b":::\n\n"])
def test_empty_input_is_unparseable(parser: EmailMessageParser, raw: bytes) -> None:
    with pytest.raises(UnparseableMessage):
        parser.parse(io.BytesIO(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b"just some words, no headers at all\n",
        bytes(range(256)) * 20,
        b'From: <\nTo: ,,,<>\nCc: "unterminated\nSubject: =?utf-8?B?!!!?= =?bogus?Q?=ZZ?=\n\nx',
        b'Content-Type: multipart/mixed; boundary=""\n\n--\n\nx\n----\n',
        b'Content-Type: text/plain; charset="\xff"\n'
        b"Content-Disposition: attachment; filename*0*=''%\n\nbody",
        b"Date: Mon, 32 Foo 99999 99:99:99 +9999\nMessage-ID: " + b"<" * 3000 + b"\n\nx",
        b"Content-Type: text/html\n\n<?xml version='1.0' encoding='utf-8'?><html><body>hi\x01</body></html>",
        b"Content-Type: text/plain; charset=base64\n\nhello",
    ],
)
def test_garbage_never_raises(parser: EmailMessageParser, raw: bytes) -> None:
    message = parser.parse(io.BytesIO(raw))
    assert message.raw_size == len(raw)
    assert "\x00" not in message.text


def test_garbage_without_headers_keeps_the_text(parser: EmailMessageParser) -> None:
    message = parser.parse(io.BytesIO(b"just some words, no headers at all\n"))
    assert message.text == "just some words, no headers at all"
    assert "no headers" in message.defects


def test_deeply_nested_multiparts_do_not_raise(parser: EmailMessageParser) -> None:
    depth = 3000
    raw = b"Subject: deep\r\n"
    for i in range(depth):
        raw += b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
    raw += b"Content-Type: text/plain\r\n\r\nhello\r\n"
    for i in reversed(range(depth)):
        raw += b"--b%d--\r\n" % i
    message = parser.parse(io.BytesIO(raw))
    assert message.subject == "deep"
    assert "hello" in message.text


def test_message_rfc822_sent_base64_is_decoded(parser: EmailMessageParser) -> None:
    inner = b"From: inner@vendor.example\nSubject: Inner\nMessage-ID: <inner@x>\n\nhello inner\n"
    raw = (
        b"From: outer@example.com\nSubject: Outer\nContent-Type: message/rfc822\n"
        b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(inner)
    )
    message = parser.parse(io.BytesIO(raw))
    (forwarded,) = message.forwarded
    assert (forwarded.subject, forwarded.message_id, forwarded.text) == ("Inner", "inner@x", "hello inner")


def test_pathological_reply_text_stays_fast(parser: EmailMessageParser) -> None:
    """The reply splitter's regexes are super-linear on these; the parser bounds what they see."""
    for body in ("a" + "\n" * 50_000 + "b", "On " + "On x " * 20_000, "x " + " " * 100_000 + "y"):
        started = time.monotonic()
        message = parser.parse(io.BytesIO(MIMEText(body, policy=policy.default).as_bytes()))
        assert time.monotonic() - started < 10
        assert message.new_text


def test_html_nested_past_the_layout_limit_still_gives_text(parser: EmailMessageParser) -> None:
    html = "<div>" * 5000 + "Invoice 4711 &amp; credit note" + "</div>" * 5000
    message = parser.parse(io.BytesIO(MIMEText(html, "html").as_bytes()))
    assert message.text == "Invoice 4711 & credit note"
    assert message.html is not None


def test_same_message_twice_is_idempotent(parser: EmailMessageParser, store: LocalFileStore) -> None:
    first = parse_fixture(parser, "all_attachment_kinds.eml")
    second = parse_fixture(parser, "all_attachment_kinds.eml")
    assert first == second
    files = [p for p in store.root.rglob("*") if p.is_file()]
    assert len(files) == len(first.attachments)
