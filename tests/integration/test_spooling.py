"""Big attachment bodies spooled to disk before parsing: same results as parsing in memory."""

from __future__ import annotations

import base64
import email
import hashlib
import io
import random
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from p2pdesk.infrastructure.email.parsing import EmailMessageParser
from p2pdesk.infrastructure.email.spooling import skeletonise
from p2pdesk.infrastructure.storage.local import LocalFileStore
from p2pdesk.ports.mail import ParsedMessage
from tests.integration.test_mime_parsing import CORPUS, DATA

NEVER = 1 << 40  # a threshold no test message reaches: the in-memory path


def parsers(tmp_path: Path) -> tuple[EmailMessageParser, EmailMessageParser]:
    store = LocalFileStore(tmp_path / "files")
    return EmailMessageParser(store, spool_threshold=64), EmailMessageParser(store, spool_threshold=NEVER)


def comparable(message: ParsedMessage) -> ParsedMessage:
    """Everything but the storage keys, which differ per store call."""
    attachments = tuple(a.__class__(**{**a.__dict__, "storage_key": None}) for a in message.attachments)
    forwarded = tuple(comparable(f) for f in message.forwarded)
    return message.__class__(**{**message.__dict__, "attachments": attachments, "forwarded": forwarded})


def pdf(size: int, seed: int = 1) -> bytes:
    return b"%PDF-1.4\n" + random.Random(seed).randbytes(size) + b"\n%%EOF\n"


def invoice_mail(attachment: bytes, *, cte: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "AP <ap@vendor.example>"
    mail["To"] = "ap@p2pdesk.example"
    mail["Subject"] = "Invoice INV-7 attached"
    mail["Message-ID"] = "<spool-1@vendor.example>"
    mail.set_content("Please find the invoice attached.\n")
    mail.add_alternative("<p>Please find the <b>invoice</b> attached.</p>", subtype="html")
    mail.add_attachment(attachment, maintype="application", subtype="pdf", filename="INV-7.pdf", cte=cte)
    mail.preamble = "This is a MIME message.\n"
    mail.epilogue = "the end\n"
    return mail.as_bytes(policy=policy.SMTP)


@pytest.mark.parametrize("cte", ["base64", "quoted-printable"])
def test_a_big_attachment_is_spooled_and_stored_byte_for_byte(tmp_path: Path, cte: str) -> None:
    body = pdf(600_000)
    raw = invoice_mail(body, cte=cte)
    skeleton = skeletonise(io.BytesIO(raw), threshold=256 * 1024)
    try:
        assert len(skeleton.bodies) == 1
        assert len(skeleton.data) < 10_000  # the parser never sees the body
        assert skeleton.raw_sha256 == hashlib.sha256(raw).hexdigest()
        assert skeleton.raw_size == len(raw)
    finally:
        skeleton.close()

    spooling, in_memory = parsers(tmp_path)
    parsed = spooling.parse(io.BytesIO(raw))
    [attachment] = [a for a in parsed.attachments if a.filename == "INV-7.pdf"]
    assert (attachment.size, attachment.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert comparable(parsed) == comparable(in_memory.parse(io.BytesIO(raw)))


def test_a_binary_8bit_part_keeps_its_bytes_but_not_the_boundary_line_break(tmp_path: Path) -> None:
    payload = bytes(range(1, 256)).replace(b"\r", b"").replace(b"\n", b"") * 20 + b"\nsecond line"
    raw = (
        b"From: a@vendor.example\r\nMessage-ID: <bin@vendor.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n--XYZ\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--XYZ\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n"
        b'Content-Disposition: attachment; filename="blob.bin"\r\n\r\n' + payload + b"\r\n--XYZ--\r\n"
    )
    spooling, in_memory = parsers(tmp_path)
    parsed = spooling.parse(io.BytesIO(raw))
    [blob] = parsed.attachments
    assert (
        blob.sha256
        == hashlib.sha256(email.message_from_bytes(raw).get_payload()[1].get_payload(decode=True)).hexdigest()
    )
    assert comparable(parsed) == comparable(in_memory.parse(io.BytesIO(raw)))


def test_a_forged_marker_header_is_just_a_header(tmp_path: Path) -> None:
    forged = b"X-P2pdesk-Spooled-0000000000000000: 1\r\nContent-Disposition: attachment"
    raw = invoice_mail(pdf(2000), cte="base64").replace(b"Content-Disposition: attachment", forged)
    spooling, in_memory = parsers(tmp_path)
    parsed = spooling.parse(io.BytesIO(raw))
    [attachment] = [a for a in parsed.attachments if a.filename == "INV-7.pdf"]
    assert attachment.size == len(pdf(2000))
    assert comparable(parsed) == comparable(in_memory.parse(io.BytesIO(raw)))


def test_thousands_of_parts_do_not_recurse(tmp_path: Path) -> None:
    parts = b"".join(
        b"--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(bytes([n % 256]) * 120).replace(b"\n", b"\r\n")
        for n in range(3000)
    )
    raw = b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n' + parts + b"--B--\r\n"
    spooling, in_memory = parsers(tmp_path)
    parsed = spooling.parse(io.BytesIO(raw))
    assert len(parsed.attachments) == 3000
    assert comparable(parsed) == comparable(in_memory.parse(io.BytesIO(raw)))


HARD_CASES = sorted(DATA.glob("*.eml"))


@pytest.mark.parametrize("path", [*HARD_CASES, *CORPUS], ids=lambda path: path.name)
def test_spooling_everything_changes_nothing(tmp_path: Path, path: Path) -> None:
    """With a 64-byte threshold every non-text leaf is spooled; the result must not change."""
    spooling, in_memory = parsers(tmp_path)
    raw = path.read_bytes()
    try:
        expected = comparable(in_memory.parse(io.BytesIO(raw)))
    except Exception as error:  # what fails in memory must fail the same way spooled
        with pytest.raises(type(error)):
            spooling.parse(io.BytesIO(raw))
        return
    assert comparable(spooling.parse(io.BytesIO(raw))) == expected
