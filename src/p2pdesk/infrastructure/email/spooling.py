"""Large attachment bodies streamed to disk before the stdlib parser sees the message.

The stdlib `email` parser keeps every part in memory several times over (the source as text, its
lines, the joined payload, the decoded bytes): a 25 MB PDF cost ~300 MB. This pre-pass reads the
raw message line by line, follows the multipart boundaries, and decodes the body of any non-text
leaf part bigger than a threshold straight into a temporary file (base64 or quoted-printable
undone on the way). In the copy handed to the parser ("the skeleton") that part keeps its headers,
gains a marker header naming its file, and has an empty body. Everything else is copied verbatim,
so the parser sees the same tree; only the big bodies are missing, and the attachment code takes
them from the files instead.

The marker header's name carries a random nonce per message, so a sender cannot forge one.
message/* parts are copied verbatim (their .eml is rebuilt from the parsed tree), and anything the
pre-pass does not understand (a header block that never ends, say) is copied verbatim from there
on: at worst the message is parsed in memory as before.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import io
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from typing import IO, BinaryIO

SPOOL_THRESHOLD = 256 * 1024  # bodies up to this size stay in the skeleton
_LINE_CAP = 64 * 1024  # a line longer than this is read in pieces
_HEADER_CAP = 1024 * 1024  # a header block longer than this is not a header block
_MEMORY = 1024 * 1024  # spool files live in memory up to this size
_BLOCK = 64 * 1024  # a spooled body is decoded and written this much at a time
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64 = bytes(sorted(set(range(256)) - set(_BASE64_ALPHABET)))  # deleted by bytes.translate
_DECODABLE = {"base64", "quoted-printable", "7bit", "8bit", "binary", ""}


@dataclass
class SpooledBody:
    file: IO[bytes]  # the decoded body, positioned anywhere
    size: int = 0


@dataclass
class Skeleton:
    data: bytes
    marker: str  # the header name that points a part at its spooled body
    bodies: dict[str, SpooledBody] = field(default_factory=dict)
    raw_sha256: str = ""
    raw_size: int = 0

    def close(self) -> None:
        for body in self.bodies.values():
            body.file.close()


def skeletonise(raw: BinaryIO, threshold: int = SPOOL_THRESHOLD) -> Skeleton:
    # A message no bigger than the threshold has no body bigger than it: the skeleton is the message
    # itself, byte for byte, and the line by line pre-pass (most of the mail there is) is spared.
    head = raw.read(threshold + 1)
    if len(head) <= threshold:
        marker = f"X-P2pdesk-Spooled-{secrets.token_hex(8)}"
        return Skeleton(head, marker, {}, hashlib.sha256(head).hexdigest(), len(head))
    return _Splitter(threshold).run(head, raw)


class _Decoder:
    """Undo a transfer encoding incrementally into a spool file."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_MEMORY)  # noqa: SIM115
        self.size = 0
        self._quads = b""  # base64 characters not yet decoded (fewer than 4)
        self._held = b""  # the last line of a plain body: its line break belongs to the boundary
        self._lines: list[bytes] = []  # fed, not yet decoded: decoded a block at a time
        self._pending = 0

    def feed(self, line: bytes) -> None:
        self._lines.append(line)
        self._pending += len(line)
        if self._pending >= _BLOCK:
            self._decode()

    def _decode(self) -> None:
        """Decode the lines fed so far (whole lines: a block decodes as they would one by one)."""
        if not self._lines:
            return
        if self.encoding == "base64":
            chars = self._quads + b"".join(self._lines).translate(None, _NOT_BASE64)
            whole = len(chars) - len(chars) % 4
            self._quads = chars[whole:]
            if whole:
                self._write(binascii.a2b_base64(chars[:whole]))
        else:  # one line behind: the last line's break belongs to the boundary
            self._write(self._held + b"".join(self._lines[:-1]))
            self._held = self._lines[-1]
        self._lines.clear()
        self._pending = 0

    def finish(self) -> SpooledBody:
        self._decode()
        if self.encoding == "base64":
            if self._quads:  # padding lost in transit: decode what is there, as the stdlib does
                rest = self._quads + b"=" * (-len(self._quads) % 4)
                with contextlib.suppress(binascii.Error):
                    self._write(binascii.a2b_base64(rest))
        else:
            last = self._held.rstrip(b"\r\n") if self._held.endswith(b"\n") else self._held
            self._write(last)
        return SpooledBody(self.file, self.size)

    def _write(self, data: bytes) -> None:
        if not data:
            return
        if self.encoding == "quoted-printable":
            data = binascii.a2b_qp(data)
        self.file.write(data)
        self.size += len(data)


class _Splitter:
    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.marker = f"X-P2pdesk-Spooled-{secrets.token_hex(8)}"
        self.out = io.BytesIO()
        self.bodies: dict[str, SpooledBody] = {}
        self.boundaries: list[bytes] = []  # open multipart separators ("--" + boundary), innermost last

    def run(self, head: bytes, raw: BinaryIO) -> Skeleton:
        """`head`: what was read of `raw` already."""
        digest = hashlib.sha256()
        size = 0

        def lines() -> Iterator[bytes]:
            nonlocal size
            start = io.BytesIO(head)
            while line := start.readline(_LINE_CAP):
                if not line.endswith(b"\n") and len(line) < _LINE_CAP:  # cut off where the head ends
                    line += raw.readline(_LINE_CAP - len(line))
                digest.update(line)
                size += len(line)
                yield line
            while line := raw.readline(_LINE_CAP):
                digest.update(line)
                size += len(line)
                yield line

        source = lines()
        try:
            ending = self._entity(source)
            while ending is not None:  # a loop, not recursion: a message may have thousands of parts
                ending = self._after_boundary(ending, source)
        except _PassThrough:
            pass
        for line in source:  # whatever the pre-pass gave up on, verbatim
            self.out.write(line)
        return Skeleton(self.out.getvalue(), self.marker, self.bodies, digest.hexdigest(), size)

    # Each reader below returns the boundary line that ended what it read (not yet written), or
    # None at the end of the input.

    def _entity(self, source: Iterator[bytes]) -> bytes | None:
        """One entity (the message, or one part): headers, then a body of the kind they announce."""
        header_lines: list[bytes] = []
        header_size = 0
        for line in source:
            if self._boundary(line) is not None:  # a part with no blank line after its headers
                self.out.writelines(header_lines)
                return line
            if line in (b"\r\n", b"\n"):
                return self._body(header_lines, line, source)
            header_lines.append(line)
            header_size += len(line)
            if header_size > _HEADER_CAP:
                self.out.writelines(header_lines)
                raise _PassThrough
        self.out.writelines(header_lines)  # headers only
        return None

    def _body(self, header_lines: list[bytes], blank: bytes, source: Iterator[bytes]) -> bytes | None:
        headers = _headers(header_lines)
        maintype = headers.get_content_maintype()
        boundary = headers.get_boundary() if maintype == "multipart" else None
        encoding = str(headers.get("content-transfer-encoding", "")).strip().lower()
        if not boundary and maintype not in ("text", "message", "multipart") and encoding in _DECODABLE:
            return self._leaf(header_lines, blank, encoding, source)
        self.out.writelines(header_lines)
        self.out.write(blank)
        if boundary:
            self.boundaries.append(b"--" + boundary.encode("ascii", "surrogateescape"))
        return self._verbatim(source)  # a preamble, or a body kept as it is

    def _leaf(
        self, header_lines: list[bytes], blank: bytes, encoding: str, source: Iterator[bytes]
    ) -> bytes | None:
        held: list[bytes] = []
        held_size = 0
        decoder: _Decoder | None = None
        ending: bytes | None = None
        for line in source:
            if self._boundary(line) is not None:
                ending = line
                break
            if decoder is not None:
                decoder.feed(line)
                continue
            held.append(line)
            held_size += len(line)
            if held_size > self.threshold:
                decoder = _Decoder(encoding)
                for kept in held:
                    decoder.feed(kept)
                held = []
        self.out.writelines(header_lines)
        if decoder is None:
            self.out.write(blank)
            self.out.writelines(held)
            return ending
        name = str(len(self.bodies) + 1)
        self.bodies[name] = decoder.finish()
        self.out.write(f"{self.marker}: {name}".encode("ascii") + _eol(blank))
        self.out.write(blank)
        if ending is not None:  # the line break before a boundary belongs to the boundary
            self.out.write(_eol(blank))
        return ending

    def _verbatim(self, source: Iterator[bytes]) -> bytes | None:
        for line in source:
            if self._boundary(line) is not None:
                return line
            self.out.write(line)
        return None

    # -- boundaries --------------------------------------------------------------------------------

    def _boundary(self, line: bytes) -> tuple[int, bool] | None:
        """Which open multipart this line delimits (its index), and whether it closes it."""
        if not self.boundaries or not line.startswith(b"--"):
            return None
        text = line.rstrip(b"\r\n").rstrip(b" \t")
        for index in range(len(self.boundaries) - 1, -1, -1):
            separator = self.boundaries[index]
            if text == separator:
                return index, False
            if text == separator + b"--":
                return index, True
        return None

    def _after_boundary(self, line: bytes, source: Iterator[bytes]) -> bytes | None:
        """Write the boundary line, then read what follows it: the next part, or an epilogue."""
        found = self._boundary(line)
        assert found is not None
        index, closes = found
        self.out.write(line)
        del self.boundaries[index + 1 :]  # parts nested deeper end here too
        if closes:
            self.boundaries.pop()
            return self._verbatim(source)  # the epilogue, up to an outer boundary
        return self._entity(source)


class _PassThrough(Exception):
    """The pre-pass stops and copies the rest verbatim."""


def _headers(lines: list[bytes]) -> Message:
    return BytesHeaderParser(policy=policy.compat32).parsebytes(b"".join(lines) + b"\r\n")


def _eol(blank: bytes) -> bytes:
    return b"\r\n" if blank.startswith(b"\r") else b"\n"
