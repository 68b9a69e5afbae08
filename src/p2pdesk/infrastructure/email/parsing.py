"""The MessageParser adapter: raw RFC 5322 bytes to a ParsedMessage, attachments into a FileStore.

Built on the stdlib `email` package (`BytesParser` with the `compat32` policy) for the MIME tree.
Headers and MIME parameters are read from the raw values and decoded by hand (`parsing_headers`),
because `policy.default` raises on some broken headers (long or garbled Message-IDs, odd address
lists) where a helpdesk must carry on; and since nothing here reads its header objects, the
parser is not asked to build them (they were a third of the parse time). Body text, HTML and the
reply split live in `parsing_text`.

What is a body and what is an attachment: text/plain and text/html leaves without a filename and
not marked `Content-Disposition: attachment` are the body (all of them, in order: mailers split a
body around inline images); every other leaf is an attachment, whatever its type; message/rfc822
(and message/global) parts are parsed recursively into `forwarded` and also kept as .eml
attachments so nothing is lost.

Memory: `spooling` first streams every non-text leaf body over 256 KiB to a spool file (decoded),
so the stdlib parser, which holds what it parses several times over, only sees the rest; the store
then copies those files in chunks. Memory does not grow with attachment size beyond the raw
message the caller holds. Forwarded messages are serialised into a spooled temporary file (on disk
past 1 MiB) before going to the store; their own attachments are parsed in memory.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import mimetypes
import quopri
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import IO, BinaryIO, cast

from p2pdesk.infrastructure.email import parsing_headers as hdr
from p2pdesk.infrastructure.email import parsing_text as txt
from p2pdesk.infrastructure.email.spooling import SPOOL_THRESHOLD, Skeleton, SpooledBody, skeletonise
from p2pdesk.ports.mail import (
    FileStore,
    FileTooLarge,
    ParsedAttachment,
    ParsedMessage,
    UnparseableMessage,
)

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_FORWARD_DEPTH = 8  # deeper forwarded messages are kept as .eml attachments only
AUTOMATION_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "x-auto-response-suppress",
    "x-loop",
)
_SPOOL_MEMORY = 1024 * 1024
_HASH_CHUNK = 64 * 1024
_MAX_FILENAME = 255
_FORWARD_TYPES = frozenset({"message/rfc822", "message/global"})
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/calendar": ".ics",
    "text/html": ".html",
    "image/jpeg": ".jpg",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/octet-stream": ".bin",
    "application/xml": ".xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/msword": ".doc",
}
_MIME_TYPES = mimetypes.MimeTypes()  # the built-in table only: the same on every machine
# Serialising a part back to bytes: keep every header line as it came (no refolding, which is where
# policy.default breaks on long Message-IDs) and 8-bit bytes as they were.
_REGENERATE = policy.default.clone(refold_source="none", linesep="\r\n", cte_type="8bit")
_PATH_SEPARATORS = re.compile(r"[\\/]")
_C1 = re.compile("[\x80-\x9f]")
_ANGLES = "<> \t"


@dataclass
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    others: list[Message] = field(default_factory=list)
    mimes: dict[int, _Mime] = field(default_factory=dict)  # by id(part): each part's read once


@dataclass(frozen=True)
class _Mime:
    content_type: str
    disposition: str | None
    filename: str | None
    charset: str | None


class EmailMessageParser:
    def __init__(
        self,
        store: FileStore,
        *,
        max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
        spool_threshold: int = SPOOL_THRESHOLD,
    ) -> None:
        self._store = store
        self._max_bytes = max_attachment_bytes
        self._spool_threshold = spool_threshold

    def parse(self, raw: BinaryIO) -> ParsedMessage:
        skeleton = skeletonise(
            raw, self._spool_threshold
        )  # big attachment bodies go to spool files, not the parser
        try:
            data = skeleton.data
            if not skeleton.raw_size or not (data.strip(b" \t\r\n\x00") or skeleton.bodies):
                raise UnparseableMessage("empty input")
            defects: list[str] = []
            msg = _parse_bytes(data, defects)
            del data  # the parsed tree holds the content from here on
            parsed = self._message(msg, skeleton, skeleton.raw_sha256, skeleton.raw_size, defects, depth=0)
        finally:
            skeleton.close()
        if len(msg) == 0 and not (parsed.text.strip() or parsed.attachments or parsed.forwarded):
            raise UnparseableMessage("no headers and no body: not a mail message")
        return parsed

    # -- one message (the top one, or a forwarded one) --------------------------------------------

    def _message(
        self,
        msg: Message,
        skeleton: Skeleton,
        raw_sha256: str,
        raw_size: int,
        defects: list[str],
        depth: int,
    ) -> ParsedMessage:
        if len(msg) == 0:
            defects.append("no headers")

        index = hdr.header_index(msg)  # one pass over the headers for the twenty names read below

        def get(name: str) -> list[str]:
            return index.get(name, [])

        subjects = get("subject")
        subject = hdr.clean_line(hdr.header_text(subjects[0], defects, "Subject")) if subjects else ""
        senders = hdr.addresses(get("from"), defects, "From")
        from_name, from_address = senders[0] if senders else ("", "")
        message_ids = hdr.message_ids(get("message-id"))
        automation = {}
        for name in AUTOMATION_HEADERS:
            values = [hdr.clean_line(hdr.header_text(v, defects, name)) for v in get(name)]
            if values:
                automation[name] = ", ".join(dict.fromkeys(v for v in values if v))

        body = _Body()
        for part in _leaves(msg, defects):
            self._classify(part, body, defects)
        html_source = txt.strip_nul("\n".join(body.html)) if body.html else None
        text = "\n\n".join(t for t in body.plain if t.strip())
        if not text.strip() and html_source:
            text = txt.html_to_text(html_source, defects)
        text = _normalise_newlines(txt.strip_nul(text)).strip("\n")
        cids = txt.cid_references(html_source) if html_source else set()

        attachments: list[ParsedAttachment] = []
        forwarded: list[ParsedMessage] = []
        for part in body.others:
            self._attachment(
                part,
                body.mimes[id(part)],
                skeleton,
                len(attachments) + 1,
                cids,
                depth,
                attachments,
                forwarded,
                defects,
            )

        top = body.mimes.get(id(msg)) or _mime(msg, defects)  # a message of one part is its own leaf
        report_type = None
        if top.content_type == "multipart/report":
            report_type = (_param(msg, "report-type") or "").strip().lower() or None

        return ParsedMessage(
            message_id=message_ids[0] if message_ids else None,
            in_reply_to=hdr.message_ids(get("in-reply-to")),
            references=hdr.message_ids(get("references")),
            subject=subject,
            from_address=from_address,
            from_name=from_name,
            reply_to=tuple(a for _, a in hdr.addresses(get("reply-to"), defects, "Reply-To")),
            to=tuple(a for _, a in hdr.addresses(get("to"), defects, "To")),
            cc=tuple(a for _, a in hdr.addresses(get("cc"), defects, "Cc")),
            date=hdr.parse_date(get("date"), defects),
            text=text,
            new_text=txt.extract_reply(text, defects) if text else "",
            html=txt.sanitise_html(html_source) if html_source else None,
            automation_headers=automation,
            report_type=report_type,
            attachments=tuple(attachments),
            forwarded=tuple(forwarded),
            raw_sha256=raw_sha256,
            raw_size=raw_size,
            defects=tuple(dict.fromkeys(defects)),
        )

    def _classify(self, part: Message, body: _Body, defects: list[str]) -> None:
        """Body or attachment. An inline text part with a file name is both: shown, and kept as a file."""
        mime = body.mimes[id(part)] = _mime(part, defects)
        kind = mime.content_type
        if kind.startswith("multipart/") and not part.is_multipart():
            defects.append(f"{kind} without parts; its body kept as text")
            kind = "text/plain"
        is_body = (
            kind in ("text/plain", "text/html")
            and not part.is_multipart()
            and mime.disposition != "attachment"
            and (mime.filename is None or mime.disposition == "inline")
        )
        if not is_body or mime.filename is not None:
            body.others.append(part)
        if not is_body:
            return
        payload = _payload_bytes(part, defects)
        if kind == "text/plain":
            body.plain.append(hdr.decode_bytes(payload, mime.charset, defects, "text body"))
        else:
            declared = mime.charset or txt.meta_charset(payload)
            body.html.append(hdr.decode_bytes(payload, declared, defects, "HTML body"))

    # -- attachments -------------------------------------------------------------------------------

    def _attachment(
        self,
        part: Message,
        mime: _Mime,
        skeleton: Skeleton,
        number: int,
        cids: set[str],
        depth: int,
        attachments: list[ParsedAttachment],
        forwarded: list[ParsedMessage],
        defects: list[str],
    ) -> None:
        content_ids = hdr.raw_header_values(part, "content-id")
        raw_id = hdr.unfold(content_ids[0]).strip(_ANGLES)[: hdr.MAX_ID_LENGTH] if content_ids else ""
        content_id = hdr.clean_line(raw_id) or None
        referenced = content_id is not None and content_id.lower() in cids
        inline = referenced or (mime.disposition == "inline" and mime.content_type.startswith("image/"))
        filename = mime.filename or f"attachment-{number}{_extension(mime.content_type)}"

        spooled = _spooled_body(part, skeleton)
        if spooled is not None:  # decoded to disk by the pre-pass: kept open by parse()
            spool, inner = _Borrowed(spooled.file), None
        elif part.is_multipart():  # message/*: the parser made the body a list of messages
            spool, inner = _serialise_message_part(part, mime.content_type, defects)
        else:
            spool, inner = io.BytesIO(_payload_bytes(part, defects)), None
        key: str | None
        reason: str | None
        if spool is None:
            key, size, sha256, reason = None, 0, "", "could not be written back out as bytes"
        else:
            with spool:
                size = spool.seek(0, io.SEEK_END)
                spool.seek(0)
                key, sha256, reason = self._keep(spool, size)
        if inner is not None and mime.content_type in _FORWARD_TYPES:
            if depth + 1 > MAX_FORWARD_DEPTH:
                defects.append(f"forwarded messages nested deeper than {MAX_FORWARD_DEPTH}; kept as .eml")
            else:
                forwarded.append(self._message(inner, skeleton, sha256, size, [], depth + 1))
        attachments.append(
            ParsedAttachment(
                filename=filename,
                content_type=mime.content_type,
                size=size,
                sha256=sha256,
                storage_key=key,
                inline=inline,
                content_id=content_id,
                skipped_reason=reason,
            )
        )

    def _keep(self, stream: IO[bytes], size: int) -> tuple[str | None, str, str | None]:
        """Store the stream: (key, sha256, None), or (None, sha256, reason) when over the limit."""
        if size <= self._max_bytes:
            try:
                stored = self._store.put(cast(BinaryIO, stream), max_bytes=self._max_bytes)
            except FileTooLarge:
                pass
            else:
                return stored.key, stored.sha256, None
        stream.seek(0)
        digest = hashlib.sha256()
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
        return None, digest.hexdigest(), f"over the {_human_size(self._max_bytes)} limit"


# -- MIME helpers ------------------------------------------------------------------------------------


def _parse_bytes(data: bytes, defects: list[str]) -> Message:
    body = data.lstrip(b"\r\n")
    if len(body) != len(data):
        defects.append("blank lines before the headers")
    try:
        return BytesParser(policy=policy.compat32).parsebytes(body)
    except RecursionError:
        defects.append("MIME structure nested too deep; body kept as text")
    except Exception as exc:  # the stdlib parser on garbage; keep what we can
        defects.append(f"MIME structure unreadable ({type(exc).__name__}); body kept as text")
    msg = BytesParser(policy=policy.compat32).parsebytes(body, headersonly=True)
    for name in ("content-type", "content-transfer-encoding"):
        del msg[name]
    return msg


def _leaves(msg: Message, defects: list[str]) -> Iterator[Message]:
    """The leaf parts in document order, message/* parts as leaves; the parser's defects noted."""
    stack = [msg]
    while stack:
        part = stack.pop()
        defects.extend(type(defect).__name__ for defect in getattr(part, "defects", ()))
        payload = part.get_payload()
        if isinstance(payload, list) and part.get_content_maintype() != "message":
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
        else:
            yield part


def _mime(part: Message, defects: list[str]) -> _Mime:
    """Content type, disposition, filename and charset, read from decoded raw header values.

    A compat32 `Message` holding just those two headers does the parameter parsing (RFC 2231
    continuations and charsets included) without policy.default's header objects.
    """
    shim = Message()
    shim.set_default_type(part.get_default_type())
    try:
        for name in ("content-type", "content-disposition"):
            values = hdr.raw_header_values(part, name)
            if values:
                shim[name] = hdr.header_8bit(values[0], defects, name).replace("\x00", "")
        content_type = shim.get_content_type()
        disposition = shim.get_content_disposition()
        raw_name = shim.get_filename()
        charset = shim.get_content_charset()
    except Exception:  # parameter parsing on garbage
        defects.append("unreadable MIME parameters")
        return _Mime(part.get_default_type(), None, None, None)
    return _Mime(content_type, disposition, _clean_filename(raw_name, defects), charset)


def _param(part: Message, name: str) -> str | None:
    shim = Message()
    values = hdr.raw_header_values(part, "content-type")
    if not values:
        return None
    try:
        shim["content-type"] = hdr.unfold(values[0])
        value = shim.get_param(name)
    except Exception:
        return None
    return value if isinstance(value, str) else None


def _clean_filename(raw: str | None, defects: list[str]) -> str | None:
    """A decoded, single-line file name without directories; None when nothing usable is left."""
    if raw is None:
        return None
    name = hdr.clean_line(hdr.decode_encoded_words(raw, defects, "filename"))
    if _C1.search(name):  # RFC 2231 value labelled iso-8859-1 but written in cp1252
        with contextlib.suppress(UnicodeError):
            name = name.encode("latin-1").decode("cp1252")
    # No control or format characters: a right-to-left override can disguise "fdp.exe" as "exe.pdf".
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    name = _PATH_SEPARATORS.split(name)[-1].strip()
    if name in ("", ".", ".."):
        return None
    if len(name) > _MAX_FILENAME:
        _stem, dot, extension = name.rpartition(".")
        keep = extension if dot and len(extension) <= 16 else ""
        name = name[: _MAX_FILENAME - len(keep) - 1] + "." + keep if keep else name[:_MAX_FILENAME]
    return name


def _extension(content_type: str) -> str:
    known = _EXTENSIONS.get(content_type) or _MIME_TYPES.guess_extension(content_type, strict=False)
    if known:
        return known
    return ".txt" if content_type.startswith(("text/", "message/")) else ".bin"


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    """The part's body with its transfer encoding undone (one decoded copy)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding
        defects.append("undecodable transfer encoding; body kept as sent")
        raw = part.get_payload()
        return raw.encode("utf-8", errors="surrogateescape") if isinstance(raw, str) else b""
    return payload if isinstance(payload, bytes) else b""


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _serialise_message_part(
    part: Message, content_type: str, defects: list[str]
) -> tuple[IO[bytes] | None, Message | None]:
    """A message/* part's body as bytes in a spool file, and the message inside it (rfc822/global).

    The spool is None when the stdlib generator cannot write the part back out (nesting too deep
    for its recursion). A message/rfc822 part sent base64 or quoted-printable (not allowed, but
    seen) is decoded and parsed again: the stdlib parser ignores the transfer encoding of message parts.
    """
    inner = [p for p in part.get_payload() if isinstance(p, Message)]
    first = inner[0] if inner and content_type in _FORWARD_TYPES else None
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115
    generator = BytesGenerator(spool, mangle_from_=False, policy=_REGENERATE)
    try:
        for block in inner:  # one message, or the field blocks of a delivery-status
            generator.flatten(cast(EmailMessage, block))
    except Exception as exc:  # the stdlib generator on odd trees (or deep nesting)
        defects.append(f"could not write a {content_type} part back out ({type(exc).__name__})")
        spool.close()
        return None, first
    encoding = "".join(hdr.raw_header_values(part, "content-transfer-encoding")[:1]).strip().lower()
    if first is not None and encoding in ("base64", "quoted-printable"):
        spool.seek(0)
        decoded = _undo_transfer_encoding(spool.read(), encoding)
        if decoded is not None:
            defects.append(f"{content_type} part sent {encoding}; decoded")
            spool.close()
            spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115
            spool.write(decoded)
            first = _parse_bytes(decoded, defects)
    return spool, first


def _undo_transfer_encoding(encoded: bytes, encoding: str) -> bytes | None:
    body = encoded.lstrip(b"\r\n")  # the headerless inner message starts with a blank line
    try:
        if encoding == "base64":
            return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", body), validate=False)
        return quopri.decodestring(body)
    except (binascii.Error, ValueError):
        return None


def _spooled_body(part: Message, skeleton: Skeleton) -> SpooledBody | None:
    names = hdr.raw_header_values(part, skeleton.marker)
    return skeleton.bodies.get(names[0].strip()) if names else None


class _Borrowed(io.BufferedIOBase):
    """A spool file lent to the attachment code: its `with` block must not close it (parse does)."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def read(self, size: int | None = -1) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True


def _human_size(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"
