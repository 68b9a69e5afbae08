"""P2P references in a message: PO, invoice, vendor and GRN numbers, amounts, bank details.

Each kind is found by its label in English, German, French or Spanish followed by the number
("PO 4500012345", "Rechnungsnr.: RE-2026-0042", "n° de facture F-889", "pedido n.º 88123").
Bank details are masked before they leave this module: an IBAN only when its ISO 13616 mod-97
check passes (so a random string is not taken for one), kept as country, check digits and the
last four characters; account numbers keep their last four digits. Patterns have no nested
quantifiers, so their running time stays linear in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_REFERENCES = 20  # per message: a pasted statement must not flood the ticket
MAX_VALUE = 200

# A label, an optional "number" word and separator, then the identifier (letters, digits, - / .).
_NO = r"(?:n(?:o|r|um|ummer|umero|úmero|º|°)?\.?|#|n\.º|nº|n°|number|num\.?)?"
_SEP = r"[\s:.#=-]{0,4}"
_ID = r"([A-Z0-9][A-Z0-9/_.-]{2,30}[A-Z0-9])"
_DIGITS_ID = r"((?=[A-Z0-9/_.-]{0,30}\d)[A-Z0-9][A-Z0-9/_.-]{2,30}[A-Z0-9])"  # holds a digit


def _labelled(labels: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{labels}){_SEP}{_NO}{_SEP}{_DIGITS_ID}", re.IGNORECASE)


_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "po",
        _labelled(
            r"purchase\s+order|P\.?\s?O\.?|Bestellung|Bestellnummer|Bestell-?Nr|"
            r"bon\s+de\s+commande|BDC|commande|orden\s+de\s+compra|pedido|OC"
        ),
    ),
    (
        "invoice",
        _labelled(r"invoice|inv|Rechnung|Rechnungsnummer|Rechnungs-?Nr|RE-?Nr|facture|factura|fact"),
    ),
    (
        "vendor",
        _labelled(
            r"vendor(?:\s+(?:id|code|account))?|supplier(?:\s+(?:id|code|account))?|"
            r"Lieferant(?:en)?(?:nummer|-?Nr)?|Kreditor(?:ennummer)?|"
            r"fournisseur|code\s+fournisseur|proveedor|c[oó]digo\s+de\s+proveedor"
        ),
    ),
    (
        "grn",
        _labelled(
            r"GRN|goods\s+receipt(?:\s+note)?|Wareneingang(?:sbeleg)?|WE-?Beleg|Lieferschein|"
            r"bon\s+de\s+r[ée]ception|albar[aá]n|entrada\s+de\s+mercanc[ií]a"
        ),
    ),
)

_CURRENCY = r"EUR|USD|GBP|CHF|INR|SEK|NOK|DKK|PLN|CZK|JPY|CAD|AUD|MXN|€|\$|£"
_NUMBER = r"\d{1,3}(?:[.,\u00a0\u202f' ]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?:(?P<c1>{_CURRENCY})\s?(?P<n1>{_NUMBER})|(?P<n2>{_NUMBER})\s?(?P<c2>{_CURRENCY}))(?![\w$€£])"
)
_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP"}

_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?)\b")
_ACCOUNT = re.compile(
    r"\b(?:account\s+(?:no|number|#)|acct\.?\s*(?:no)?|Kontonummer|Konto-?Nr|Konto|"
    r"num[eé]ro\s+de\s+compte|n°\s*de\s+compte|compte|n[uú]mero\s+de\s+cuenta|cuenta)"
    r"[\s:.#-]{0,4}(\d[\d -]{5,22}\d)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ExtractedReference:
    type: str  # po, invoice, vendor, grn, amount, iban, bank_account
    value: str


def iban_is_valid(candidate: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    iban = candidate.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def mask_iban(iban: str) -> str:
    compact = iban.replace(" ", "").upper()
    return compact[:4] + "*" * (len(compact) - 8) + compact[-4:]


def mask_account(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return "*" * (len(digits) - 4) + digits[-4:]


def _amount(match: re.Match[str]) -> str:
    currency = match.group("c1") or match.group("c2")
    number = match.group("n1") or match.group("n2")
    currency = _SYMBOLS.get(currency, currency).upper()
    return f"{_normalise_number(number)} {currency}"


def _normalise_number(text: str) -> str:
    """'1.234,56' and '1,234.56' and '1 234,56' -> '1234.56' (the last separator before 1-2 digits
    is the decimal one)."""
    compact = re.sub(r"[\u00a0\u202f' ]", "", text)
    decimal = re.search(r"[.,](\d{1,2})$", compact)
    whole = compact[: decimal.start()] if decimal else compact
    whole = re.sub(r"[.,]", "", whole)
    return f"{int(whole)}.{decimal.group(1).ljust(2, '0')}" if decimal else str(int(whole))


def extract_references(*texts: str) -> tuple[ExtractedReference, ...]:
    """References found in the texts (subject first), each (type, value) once, in order found."""
    found: dict[tuple[str, str], None] = {}

    def add(kind: str, value: str) -> None:
        if len(found) < MAX_REFERENCES and value:
            found.setdefault((kind, value[:MAX_VALUE]), None)

    for text in texts:
        for iban in _IBAN.findall(text):
            if iban_is_valid(iban):
                add("iban", mask_iban(iban))
        for number in _ACCOUNT.findall(text):
            digits = re.sub(r"\D", "", number)
            if 6 <= len(digits) <= 18:
                add("bank_account", mask_account(digits))
        for kind, pattern in _PATTERNS:
            for value in pattern.findall(text):
                value = value.rstrip(".-/").upper()
                if any(c.isdigit() for c in value):
                    add(kind, value)
        for match in _AMOUNT.finditer(text):
            add("amount", _amount(match))
    return tuple(ExtractedReference(kind, value) for kind, value in found)
