"""Header decoding for the MIME parser, done by hand from the raw header values.

The stdlib's `email.policy.default` parses structured headers lazily and, on some broken input
(long or garbled Message-IDs, odd address lists), raises instead of recording a defect. So the
parser reads raw values (`Message.raw_items()`, never `msg[name]`) and decodes them here: 8-bit bytes
(kept by the parser as surrogate escapes) as UTF-8, else cp1252, else latin-1; RFC 2047 encoded
words with a charset fallback; addresses with `email.utils.getaddresses`; dates with
`email.utils.parsedate_to_datetime`. Nothing here raises on garbage; what was worked around is
appended to the `defects` list passed in.
"""

from __future__ import annotations

import binascii
import codecs
import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

MAX_ID_LENGTH = 998  # RFC 5322's line limit: no message id can usefully be longer

_SURROGATE = re.compile("[\udc80-\udcff]")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE_RUN = re.compile(r"\s+")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_ANGLE_ID = re.compile(r"<([^<>]*)>")

# Labels mail clients send that Python does not know, or knows under a narrower name.
CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "windows-874": "cp874",
    "x-sjis": "shift_jis",
    "unicode-1-1-utf-7": "utf-7",
    "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    # As browsers do (WHATWG Encoding): mail labelled latin-1 is written on Windows, in cp1252.
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
}


def normalise_charset(label: str | None) -> str | None:
    """A Python codec name for a declared charset label, or None when there is no usable label."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = label.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    if not label:
        return None
    label = CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True):  # base64, rot13, hex…: not text charsets
        return None
    return info.name


def decode_bytes(data: bytes, declared: str | None, defects: list[str], where: str) -> str:
    """Decode with the declared charset, then utf-8, then cp1252, then latin-1 (never fails)."""
    codec = normalise_charset(declared)
    if declared and codec is None:
        defects.append(f"unknown charset {declared.strip()[:40]!r} in {where}")
    candidates = [c for c in (codec, "utf-8", "cp1252") if c]
    for i, candidate in enumerate(dict.fromkeys(candidates)):
        try:
            text = data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        if i > 0 and declared:
            defects.append(f"{where} is not valid {declared.strip()[:40]}; decoded as {candidate}")
        elif i > 0 and codec is None and candidate != "utf-8":
            defects.append(f"8-bit {where} without a charset; decoded as {candidate}")
        return text
    defects.append(f"{where} decoded as latin-1")
    return data.decode("latin-1", errors="replace")


def header_index(msg: Message) -> dict[str, list[str]]:
    """Every raw value of every header, unparsed, by lower-case name, in order."""
    index: dict[str, list[str]] = {}
    for key, value in msg.raw_items():
        if isinstance(value, str):
            index.setdefault(key.lower(), []).append(value)
    return index


def raw_header_values(msg: Message, name: str) -> list[str]:
    """Every raw value of header `name` (case-insensitive), unparsed."""
    lname = name.lower()
    return [value for key, value in msg.raw_items() if key.lower() == lname and isinstance(value, str)]


def header_text(raw: str, defects: list[str], name: str) -> str:
    """A raw header value unfolded and as text: 8-bit bytes decoded, RFC 2047 words decoded."""
    return decode_encoded_words(header_8bit(raw, defects, name), defects, name)


def header_8bit(raw: str, defects: list[str], name: str) -> str:
    """A raw header value unfolded, its 8-bit bytes (if any) decoded as UTF-8, else cp1252."""
    value = unfold(raw)
    if _SURROGATE.search(value):
        data = value.encode("utf-8", errors="surrogateescape")
        value = decode_bytes(data, None, defects, f"{name} header")
        defects.append(f"raw 8-bit bytes in {name} header")
    return value


def unfold(raw: str) -> str:
    return _FOLD.sub("", raw).strip("\r\n")


def clean_line(text: str) -> str:
    """One line: NULs and control characters removed, whitespace runs collapsed."""
    return _WHITESPACE_RUN.sub(" ", _CONTROL.sub("", text)).strip()


def decode_encoded_words(value: str, defects: list[str], name: str) -> str:
    """RFC 2047: decode `=?charset?Q|B?text?=` words; whitespace between adjacent words is dropped.

    Adjacent words in the same charset are joined as bytes before decoding, so a multi-byte character
    split across two words survives.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pending = b""
    pending_charset: str | None = None
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending_charset is not None:
            out.append(decode_bytes(pending, pending_charset, defects, f"{name} header"))
        pending, pending_charset = b"", None

    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        if between and not (between.isspace() and pending_charset is not None):
            flush()
            out.append(between)
        charset, encoding, payload = match.groups()
        data = _decode_word(payload, encoding)
        if data is None:
            defects.append(f"undecodable encoded word in {name} header")
            flush()
            out.append(match.group(0))
        else:
            if pending_charset is not None and pending_charset.lower() != charset.lower():
                flush()
            pending += data
            pending_charset = charset
        position = match.end()
    flush()
    out.append(value[position:])
    return "".join(out)


def _decode_word(payload: str, encoding: str) -> bytes | None:
    data = payload.encode("utf-8", errors="surrogateescape")
    if encoding in "Bb":
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        data += b"=" * (-len(data) % 4)
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            return None
    return _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data.replace(b"_", b" "))


def addresses(raws: list[str], defects: list[str], name: str) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs; empty entries (groups, garbage) dropped."""
    found: list[tuple[str, str]] = []
    for raw in raws:
        value = _CONTROL.sub("", header_8bit(raw, defects, name))
        try:
            pairs = getaddresses([value])
        except Exception:
            defects.append(f"unparseable {name} header")
            continue
        for display, address in pairs:
            address = clean_line(address).lower()
            if not address:
                continue
            found.append((clean_line(decode_encoded_words(display, defects, name)), address))
    return found


def message_ids(raws: list[str]) -> tuple[str, ...]:
    """Message ids without angle brackets, in order, de-duplicated, each at most 998 characters.

    Ids in angle brackets are taken; a value without any is taken whole when it is one token (a
    common breakage). Whitespace inside an id (a folder that split it) is removed.
    """
    ids: list[str] = []
    for raw in raws:
        value = unfold(raw)
        value = value.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
        value = _CONTROL.sub("", value)
        found = _ANGLE_ID.findall(value)
        if not found and value.strip() and len(value.split()) == 1:
            found = [value.strip()]
        for candidate in found:
            ident = _WHITESPACE_RUN.sub("", candidate)[:MAX_ID_LENGTH]
            if ident and ident not in ids:
                ids.append(ident)
    return tuple(ids)


def parse_date(raws: list[str], defects: list[str]) -> datetime | None:
    if not raws:
        return None
    value = clean_line(unfold(raws[0]).encode("utf-8", errors="surrogateescape").decode("ascii", "replace"))
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        defects.append("unparseable Date header")
        return None
    if parsed.tzinfo is None:  # "-0000": the zone is unknown; the time is UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
