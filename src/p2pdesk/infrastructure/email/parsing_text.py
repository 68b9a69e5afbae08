"""Body text for the MIME parser: HTML to text (inscriptis), HTML sanitising (nh3), reply extraction.

The reply extractor (mail-parser-reply) runs regular expressions that are quadratic or worse on
some inputs: long runs of blank lines, long lines full of spaces, long lines starting "On On…" take
seconds to minutes. It is therefore given a bounded probe of the text (whitespace runs collapsed,
lines cut at 300 characters, at most two blank lines in a row, at most 100,000 characters) and
the split it finds is mapped back onto the original lines.
"""

from __future__ import annotations

import html as html_lib
import re
from functools import cache

import nh3
from inscriptis import get_text
from mailparser_reply.parser import EmailMessage as ReplySplitter

REPLY_LANGUAGES = ("en", "de", "fr", "es")
PROBE_LINE_CHARS = 300
PROBE_TOTAL_CHARS = 100_000
PROBE_BLANK_RUN = 2

_NUL = "\x00"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SEPARATOR_LINE = re.compile(r"[_-]{32,}")
_INNER_WHITESPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE
)
_CID_REFERENCE = re.compile(r"""cid:([^"'\s>)]+)""", re.IGNORECASE)

# nh3's default tags and attributes, plus `cid:` URLs so inline images keep pointing at their parts.
_URL_SCHEMES = set(nh3.ALLOWED_URL_SCHEMES) | {"cid"}


def strip_nul(text: str) -> str:
    return text.replace(_NUL, "") if _NUL in text else text


def meta_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in a <meta> tag within its first 4 KiB."""
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def sanitise_html(html: str) -> str:
    return nh3.clean(html, url_schemes=_URL_SCHEMES)


def html_to_text(html: str, defects: list[str]) -> str:
    failure = "empty layout"
    for candidate in (html, _CONTROL.sub("", html)):
        try:
            text = str(get_text(candidate))
        except Exception as exc:  # lxml on malformed or exotic markup; retry without control characters
            failure = type(exc).__name__
            continue
        if text.strip():
            return text
    stripped = html_lib.unescape(_TAG.sub(" ", html))
    if stripped.strip():  # e.g. nesting deeper than libxml2's limit lays out as nothing
        defects.append(f"HTML body could not be laid out as text ({failure}); tags stripped instead")
        return "\n".join(line.strip() for line in stripped.splitlines() if line.strip())
    return ""


def cid_references(html: str) -> set[str]:
    """Content ids (lower-case) that the HTML refers to with cid: URLs."""
    return {match.lower() for match in _CID_REFERENCE.findall(html)}


def extract_reply(text: str, defects: list[str]) -> str:
    """The newest reply in `text` without the quoted history; the whole text when no split is found."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    probe_lines, origin = _probe(lines)
    probe = "\n".join(probe_lines)
    try:
        splitter = ReplySplitter(text=probe, languages=list(REPLY_LANGUAGES), **_reply_patterns())
        if not splitter.HEADER_REGEX.search(splitter.text):
            # No reply header ("On ... wrote:", "From:", a separator line): the splitter would find one
            # reply, the whole text, after looking for signatures and disclaimers in it at some cost.
            return text.strip()
        splitter.read()
    except Exception:
        defects.append("reply extraction failed; new_text is the whole text")
        return text.strip()
    replies = splitter.replies
    # A split means a non-empty top segment (no header above it) followed by at least one more.
    if len(replies) < 2 or replies[0].headers or not replies[0].content.strip():
        return text.strip()
    content = str(replies[0].content)
    normalised = str(splitter.text)
    if normalised.count("\n") != probe.count("\n"):  # the splitter moved lines; take its text as is
        return content
    start = normalised.find(content)
    if start < 0:
        return content
    first = normalised.count("\n", 0, start)
    last = normalised.count("\n", 0, start + len(content))
    reply = lines[origin[first] : origin[last] + 1]
    while reply and (not reply[-1] or _SEPARATOR_LINE.fullmatch(reply[-1])):
        reply.pop()
    return "\n".join(reply).strip() or text.strip()


@cache
def _reply_patterns() -> dict[str, re.Pattern[str]]:
    """The splitter's three regular expressions for our languages, built once: it builds them for
    every message otherwise (joining a few kilobytes of pattern text, then a cache lookup)."""
    splitter = ReplySplitter(text="", languages=list(REPLY_LANGUAGES))
    return {
        "_header_regex": splitter.HEADER_REGEX,
        "_disclaimers_regex": splitter.DISCLAIMERS_REGEX,
        "_signature_regex": splitter.SIGNATURE_REGEX,
    }


def _probe(lines: list[str]) -> tuple[list[str], list[int]]:
    probe: list[str] = []
    origin: list[int] = []
    blank_run = 0
    total = 0
    for index, line in enumerate(lines):
        if _SEPARATOR_LINE.fullmatch(line):
            line = ""
        line = _INNER_WHITESPACE.sub(" ", line)[:PROBE_LINE_CHARS].strip()
        if line:
            blank_run = 0
        else:
            blank_run += 1
            if blank_run > PROBE_BLANK_RUN:
                continue
        total += len(line) + 1
        if total > PROBE_TOTAL_CHARS:
            break
        probe.append(line)
        origin.append(index)
    return probe, origin
