"""What intake needs from mail: a parser from raw RFC 5322 bytes to a ParsedMessage, and a file store.

The parser is the only place that knows MIME; mailbox adapters (IMAP, Graph, Gmail, Maildir, raw
upload) hand it bytes, and the application works on the frozen ParsedMessage it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class StoredFile:
    key: str  # where the file store keeps it; opaque to everyone else
    size: int
    sha256: str


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # decoded (RFC 2231 / RFC 2047); a generated name when the part has none
    content_type: str  # lower-case "type/subtype"
    size: int
    sha256: str
    storage_key: str | None  # None when not stored (over the size limit); it is still recorded
    inline: bool = False  # an inline image or similar part referenced from the HTML
    content_id: str | None = None  # without angle brackets
    skipped_reason: str | None = None  # why it was not stored, e.g. "over the 25 MB limit"


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str | None  # without angle brackets, at most 998 characters; None when absent
    in_reply_to: tuple[str, ...]  # message ids without angle brackets
    references: tuple[str, ...]
    subject: str  # decoded, single line
    from_address: str  # lower-case address, "" when missing
    from_name: str
    reply_to: tuple[str, ...]
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None  # aware
    text: str  # the whole text body (HTML converted to text when there is no plain part); no NULs
    new_text: str  # the reply text without the quoted history
    html: str | None  # sanitised HTML for display, or None
    # Headers that mark automated mail, lower-case names: auto-submitted, precedence, x-autoreply,
    # x-autorespond, list-id, list-unsubscribe, return-path, x-auto-response-suppress, x-loop.
    automation_headers: Mapping[str, str] = field(default_factory=dict)
    report_type: str | None = None  # for multipart/report: "delivery-status", "disposition-notification"…
    attachments: tuple[ParsedAttachment, ...] = ()
    forwarded: tuple[ParsedMessage, ...] = ()  # message/rfc822 parts, parsed the same way
    raw_sha256: str = ""
    raw_size: int = 0
    defects: tuple[str, ...] = ()  # what the parser had to work around (bad charset, broken header…)


class UnparseableMessage(Exception):
    """Bytes that cannot be read as a message at all; the caller quarantines them with this reason."""


class FileStore(Protocol):
    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredFile:
        """Copy the stream in chunks (memory stays flat); raises FileTooLarge past max_bytes."""
        ...

    def open(self, key: str) -> BinaryIO: ...

    def batch(self) -> AbstractContextManager[None]:
        """Puts inside the block may become durable only when it ends, all together; its end waits
        for that (raising if it fails). Commit what refers to them after the block, never inside."""
        ...


class FileTooLarge(Exception):
    pass


class MessageParser(Protocol):
    def parse(self, raw: BinaryIO) -> ParsedMessage:
        """Parse one message; attachments go to the file store as they are read."""
        ...


@dataclass(frozen=True)
class OutboundEmail:
    from_address: str
    to: tuple[str, ...]
    subject: str
    text: str
    message_id: str  # without angle brackets; we store it so replies to it thread back
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    # Extra headers, e.g. Auto-Submitted: auto-replied on acknowledgements (RFC 3834).
    headers: Mapping[str, str] = field(default_factory=dict)


class Mailer(Protocol):
    def send(self, email: OutboundEmail) -> None:
        """Hand the message to the outgoing mail server; raises MailNotSent when it refuses."""
        ...


class MailNotSent(Exception):
    pass
