"""Reference extraction in four languages; bank details checked and masked."""

from __future__ import annotations

import pytest

from p2pdesk.domain.references import (
    MAX_REFERENCES,
    ExtractedReference,
    extract_references,
    iban_is_valid,
    mask_iban,
)


def found(*texts: str) -> set[tuple[str, str]]:
    return {(r.type, r.value) for r in extract_references(*texts)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Invoice INV-2026-0042 for PO 4500012345", {("invoice", "INV-2026-0042"), ("po", "4500012345")}),
        (
            "Rechnungsnr.: RE-2026-0042, Bestellnummer 4500099887",
            {("invoice", "RE-2026-0042"), ("po", "4500099887")},
        ),
        ("n° de facture F-889, bon de commande BC-7781", {("invoice", "F-889"), ("po", "BC-7781")}),
        ("factura FA/2026/118 del pedido n.º 88123", {("invoice", "FA/2026/118"), ("po", "88123")}),
        ("GRN 5000123 for vendor id V-10023", {("grn", "5000123"), ("vendor", "V-10023")}),
        ("Wareneingang WE-88812, Lieferant 700123", {("grn", "WE-88812"), ("vendor", "700123")}),
    ],
)
def test_document_numbers_by_their_labels(text: str, expected: set[tuple[str, str]]) -> None:
    assert expected <= found(text)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("total EUR 1.234,56", "1234.56 EUR"),
        ("total 1,234.56 €", "1234.56 EUR"),
        ("Betrag 12.400,00 EUR", "12400.00 EUR"),
        ("$1,250.00 due", "1250.00 USD"),
        ("montant 980,5 EUR", "980.50 EUR"),
        ("importe 1.500 USD", "1500 USD"),
    ],
)
def test_amounts_with_their_currency(text: str, amount: str) -> None:
    assert ("amount", amount) in found(text)


def test_a_valid_iban_is_kept_masked_and_an_invalid_one_is_ignored() -> None:
    assert iban_is_valid("DE89 3704 0044 0532 0130 00")
    assert not iban_is_valid("DE00 3704 0044 0532 0130 00")
    refs = found("new IBAN DE89 3704 0044 0532 0130 00, old one DE00 1234 5678 9012 3456 78")
    assert refs == {("iban", "DE89**************3000")}
    assert "3704" not in mask_iban("DE89 3704 0044 0532 0130 00")


def test_account_numbers_keep_only_their_last_four_digits() -> None:
    assert ("bank_account", "****6819") in found("account number 41926819, sort code 23-14-70")
    assert ("bank_account", "******4321") in found("Kontonummer: 0987654321")


def test_labels_without_numbers_and_plain_words_are_not_references() -> None:
    assert found("Please see the PO and the invoice, thanks") == set()


def test_each_reference_once_subject_first_and_a_flood_is_capped() -> None:
    refs = extract_references("Invoice 5531", "about invoice 5531 again")
    assert refs == (ExtractedReference("invoice", "5531"),)
    many = " ".join(f"invoice {n}" for n in range(1000, 1100))
    assert len(extract_references(many)) == MAX_REFERENCES
