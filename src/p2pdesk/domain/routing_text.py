"""The part of a message body that says what it is about, for rules and the classifier.

Replies carry the thread below them and forwards carry header blocks; both talk about other
things (our own acknowledgement, an old price list) and mislead routing. Dropped: lines quoted with
">", everything from a reply's attribution line ("On 3 May, Ana wrote:", "Am ... schrieb ...:",
"Le ... a écrit :", "El ... escribió:") or an Outlook "-----Original Message-----" separator on,
forward header lines (From:/Von:/De :/Sent:/Betreff:/Objet :/Asunto: ...), and e-mail addresses
and web links anywhere (a company domain must not read as a topic). A forwarded message's own text
is kept: it is the message.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(?:on\b.{0,120}\bwrote:|am\b.{0,120}\bschrieb\b.{0,80}:|le\b.{0,120}\ba [ée]crit\s?:|"
    r"el\b.{0,120}\bescribi[óo]\s?:|-{2,}\s*(?:original message|urspr[üu]ngliche nachricht|"
    r"message d'origine|mensaje original)\s*-{2,})\s*$",
    re.IGNORECASE,
)
_HEADER = re.compile(
    r"^\s*(?:from|sent|date|to|cc|subject|von|gesendet|an|betreff|datum|de|envoy[ée]|date|[àa]|objet|"
    r"enviado|fecha|para|asunto)\s?:\s.*$",
    re.IGNORECASE,
)
_FORWARD_MARK = re.compile(
    r"^\s*-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transf[ée]r[ée]|"
    r"mensaje reenviado)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_ADDRESS_OR_LINK = re.compile(r"\S+@\S+|\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)


def routing_text(body: str) -> str:
    kept: list[str] = []
    for line in body.splitlines():
        if _ATTRIBUTION.match(line):
            break
        if line.lstrip().startswith(">") or _HEADER.match(line) or _FORWARD_MARK.match(line):
            continue
        kept.append(line)
    return _ADDRESS_OR_LINK.sub(" ", "\n".join(kept)).strip()
