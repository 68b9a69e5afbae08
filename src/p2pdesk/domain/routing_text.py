"""The part of a message body that says what it is about, for rules and the classifier.

Replies carry the thread below them, forwards carry header blocks, and nearly every message ends
in a signature and often a legal footer; all of these talk about other things (our own
acknowledgement, an old price list, the sender's "Accounts Receivable" job title, "VAT No.", a
bank in the footer) and mislead routing. Dropped, in English, German, French and Spanish:

- quoted history: lines quoted with ">", and everything from a reply's attribution line ("On 3 May,
  Ana wrote:", "Am ... schrieb ...:", "Le ... a écrit :", "El ... escribió:") or an Outlook
  "-----Original Message-----" separator on;
- forward header lines (From:/Von:/De :/Sent:/Betreff:/Objet :/Asunto: ...); a forwarded
  message's own text is kept: it is the message;
- signatures: from a closing line on its own ("Kind regards,", "Mit freundlichen Grüßen",
  "Cordialement,", "Un saludo,", "Thanks, Sam"), a "-- " delimiter or a "Sent from my iPhone" line
  up to the next forwarded message (a colleague's "FYI, thanks, Lena" above a forward does not
  hide the forward);
- legal footers and company registration lines anywhere: a paragraph that reads as a disclaimer
  ("confidential ... intended ... addressee", "received ... in error", "vertraulich ...
  irrtümlich", "confidentiel ... par erreur", "confidencial ... por error"), "please consider the
  environment before printing", and lines such as "Registered in England No. ...", "Amtsgericht
  München HRB ...", "SIRET ...", "Inscrita en el Registro Mercantil ...";
- greeting lines ("Hello,", "Sehr geehrte Damen und Herren,", "Bonjour à tous,", "Buenos días:");
- e-mail addresses and web links anywhere (a company domain must not read as a topic).

So a message that says only "invoice" between a greeting and a signature routes as "invoice": a
rule can tell it has nothing to go on.
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
_NAME = r"(?-i:[A-ZÀ-Þ][\w.'-]*)"  # a capitalised word, whatever the flags around it
# A closing on a line of its own, maybe followed by a short name ("Thanks, Sam"); the body of a
# line that merely starts with "Thanks" ("Thanks for the quick reply, the invoice ...") is longer.
_CLOSING = re.compile(
    r"^\s*(?:(?:kind|best|warm|warmest|many|with)?\s*(?:regards|wishes)|yours\s+(?:sincerely|faithfully|truly)|"
    r"sincerely|cheers|thanks?(?:\s+you)?(?:\s+(?:so\s+much|in\s+advance|again))?|many\s+thanks(?:\s+in\s+advance)?|"
    r"thanks\s+and\s+regards|br|"
    r"(?:mit\s+)?(?:freundlichen|besten|herzlichen|sch[öo]nen|liebe|viele|beste|freundliche)\s+gr[üu](?:ß|ss)e?n?|"
    r"mfg|lg|vg|gru(?:ß|ss)|danke(?:\s+sch[öo]n)?(?:\s+im\s+voraus)?|vielen\s+dank(?:\s+im\s+voraus)?|"
    r"(?:bien\s+|tr[èe]s\s+)?cordialement|salutations(?:\s+distingu[ée]es)?|bien\s+[àa]\s+vous|"
    r"bonne\s+(?:journ[ée]e|fin\s+de\s+journ[ée]e)|merci(?:\s+(?:d'avance|beaucoup|par\s+avance))?|"
    r"(?:un\s+)?(?:cordial\s+)?saludos?(?:\s+cordiales)?|atentamente|un\s+abrazo|"
    r"(?:muchas\s+)?gracias(?:\s+de\s+antemano|\s+por\s+adelantado)?)"
    rf"\s*[.!]*(?:\s*[,:;-]\s*{_NAME}(?:\s+{_NAME}){{0,2}})?\s*[,.!:;-]?\s*$",
    re.IGNORECASE,
)
_SIGNATURE_MARK = re.compile(
    r"^\s*(?:--|sent\s+from\s+my\s+\w+.*|get\s+outlook\s+for\s+\w+.*|von\s+meinem\s+\w+.*\s+gesendet|"
    r"envoy[ée]\s+de\s+mon\s+\w+.*|enviado\s+desde\s+mi\s+\w+.*)\s*$",
    re.IGNORECASE,
)
_DISCLAIMER = re.compile(
    r"confidential.{0,200}(?:intended|addressee|recipient)|received\s+(?:this|it)\b.{0,60}\bin\s+error|"
    r"vertraulich.{0,300}(?:adressat|empf[äa]nger|irrt[üu]mlich)|irrt[üu]mlich\s+erhalten|"
    r"confidentiel.{0,200}(?:destinataire|par\s+erreur)|re[çc]u\s+ce\s+(?:message|courriel|e-?mail)\s+par\s+erreur|"
    r"confidencial.{0,200}(?:destinatario|por\s+error)|recibido\s+(?:este\s+\w+\s+)?por\s+error|"
    r"consider\s+the\s+environment\s+before\s+printing|pensez\s+[àa]\s+l'environnement|"
    r"denken\s+sie\s+an\s+die\s+umwelt|antes\s+de\s+imprimir",
    re.IGNORECASE | re.DOTALL,
)
_REGISTRATION = re.compile(
    r"registered\s+(?:in\s+(?:england|wales|scotland|ireland)|office\s*:)|company\s+(?:registration\s+)?(?:no|number)\b|"
    r"amtsgericht|registergericht|\bhr[ab]\s*\d|gesch[äa]ftsf[üu]hrer(?:in)?\s*:|\bsitz\s*:|"
    r"\bsiret\b|\bsiren\b|\brcs\s+\w+|au\s+capital\s+(?:social\s+)?de\s+\d|"
    r"inscrita\s+en\s+el\s+registro|registro\s+mercantil\s+de",
    re.IGNORECASE,
)
# A greeting on a line of its own: a greeting word and at most four more words (a name, "team",
# "Damen und Herren", "à tous") ending in a comma, colon or "!", or at most one more word and no
# punctuation ("Hi team"). "Hello, can you tell me ..." and "Dear Ana, invoice attached." stay.
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening|day)|greetings|"
    r"hallo|guten\s+(?:morgen|tag|abend)|sehr\s+geehrte[rs]?|liebe[rs]?|moin|servus|"
    r"bonjour|bonsoir|salut|madame|monsieur|messieurs|ch[èe]re?s?|"
    r"hola|buen[oa]s\s+(?:d[íi]as|tardes|noches)|estimad[oa]s?|querid[oa]s?)"
    r"(?:(?:[\s,]+[\w.'-]+){0,4}\s*[,:!]|(?:\s+[\w'-]+)?)\s*$",
    re.IGNORECASE,
)
_ADDRESS_OR_LINK = re.compile(r"\S+@\S+|\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)


def _says_something(lines: list[str]) -> bool:
    """Whether the kept lines (greetings are not kept) say anything yet: a closing right under
    "Hello," is not a signature ("Hello,\n\nThanks!\nThe invoice was paid twice ...")."""
    return any(line.strip() for line in lines)


def routing_text(body: str) -> str:
    kept: list[str] = []
    in_signature = False
    for line in body.splitlines():
        if _ATTRIBUTION.match(line):
            break
        if _FORWARD_MARK.match(line) or _HEADER.match(line):
            in_signature = False  # a forwarded message starts: it is the message
            continue
        if line.lstrip().startswith(">"):
            continue
        if _SIGNATURE_MARK.match(line) or (_CLOSING.match(line) and _says_something(kept)):
            in_signature = True
        if in_signature or _REGISTRATION.search(line) or _GREETING.match(line):
            continue
        kept.append(line)
    paragraphs = "\n".join(kept).split("\n\n")
    text = "\n\n".join(p for p in paragraphs if not _DISCLAIMER.search(p))
    return _ADDRESS_OR_LINK.sub(" ", text).strip()
