"""What rules and the classifier read of a body: no quoted history, forward headers, signatures,
legal footers or registration lines, in English, German, French and Spanish."""

from __future__ import annotations

import pytest

from p2pdesk.domain.routing_text import routing_text

SIGNED = [
    ("Kind regards,\n\nTom Fletcher\nAccounts Receivable | Northgate Ltd\nVAT GB 284 1190 33", "en"),
    ("Thanks, Sam\nCredit control - invoices and payments", "en"),
    ("Mit freundlichen Grüßen\n\nAnna Schmidt\nDebitorenbuchhaltung\nTel. +49 89 1234", "de"),
    ("Viele Grüße\ni. A. Julia Krüger | Buchhaltung", "de"),
    ("Cordialement,\n\nClaire Martin\nService comptabilité clients\nTVA FR 12 512345678", "fr"),
    ("Bien à vous\nJulien Moreau, Responsable ADV", "fr"),
    ("Saludos cordiales,\n\nLucía Fernández\nDepartamento de Administración\nCIF B-12345678", "es"),
    ("Un saludo,\nMarta López | Contabilidad", "es"),
]


@pytest.mark.parametrize(("signature", "language"), SIGNED)
def test_the_signature_below_a_closing_is_dropped(signature: str, language: str) -> None:
    body = f"Hello,\n\nThe delivery of 3 May is still missing two cartons, please check.\n\n{signature}"
    text = routing_text(body)
    assert "still missing two cartons" in text
    for gone in (
        "Accounts Receivable",
        "Debitorenbuchhaltung",
        "comptabilité",
        "Contabilidad",
        "VAT",
        "Tel.",
    ):
        assert gone not in text, language
    assert text.splitlines()[-1].startswith("The delivery")


def test_a_line_that_only_starts_like_a_closing_is_kept() -> None:
    body = "Hi,\n\nThanks for the quick reply.\nThe credit note is attached.\n\nBest regards,\nAna"
    assert routing_text(body) == "Thanks for the quick reply.\nThe credit note is attached."
    short = "Hello,\n\nThanks!\nThe invoice 77 was paid twice, please refund one.\n\nRegards"
    assert "paid twice" in routing_text(short)  # a closing right under the greeting is not a signature


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hello,\n\ninvoice\n\nKind regards,\n\nJ. Okoro | Finance | Atlas Freight Ltd", "invoice"),
        ("Sehr geehrte Damen und Herren,\n\nZahlung\n\nMit freundlichen Grüßen\nAnna Schmidt", "Zahlung"),
        ("Bonjour à tous,\nfacture\nCordialement,\nClaire Martin", "facture"),
        ("Buenos días:\n\npedido\n\nSaludos cordiales,\n\nLucía Fernández", "pedido"),
    ],
)
def test_a_one_word_message_is_one_word_without_greeting_and_signature(body: str, expected: str) -> None:
    assert routing_text(body) == expected


def test_a_greeting_that_goes_on_into_the_message_is_kept() -> None:
    body = "Hello, can you tell me when invoice 123 will be paid?\n\nThanks"
    assert routing_text(body) == "Hello, can you tell me when invoice 123 will be paid?"
    assert routing_text("Dear Ana, invoice attached.") == "Dear Ana, invoice attached."
    assert routing_text("Hi team\nHallo\nBonjour à tous,\nnew PO attached") == "new PO attached"


def test_a_colleagues_signed_note_does_not_hide_the_forwarded_message() -> None:
    body = (
        "FYI, can you take this?\n\nThanks,\nLena\n\n---------- Forwarded message ---------\n"
        "From: a@vendor.example\nSubject: Credit note\n\nPlease find our credit note CN-7 attached.\n\n"
        "Regards,\nVendor Accounts"
    )
    text = routing_text(body)
    assert "Please find our credit note CN-7 attached." in text
    assert "Lena" not in text
    assert "Vendor Accounts" not in text


@pytest.mark.parametrize(
    "footer",
    [
        "This e-mail and any attachments are confidential and intended solely for the addressee. If you "
        "have received it in error, please notify the sender. We never change our bank details by e-mail.",
        "Diese E-Mail enthält vertrauliche Informationen. Wenn Sie diese E-Mail irrtümlich erhalten haben, "
        "informieren Sie bitte den Absender. Rechnungen bitte nur an rechnung@example.",
        "Ce message est confidentiel et destiné exclusivement à ses destinataires. Si vous l'avez reçu par "
        "erreur, merci de le supprimer. Facturation : voir nos conditions générales.",
        "Este mensaje es confidencial y se dirige exclusivamente a su destinatario. Si lo ha recibido por "
        "error, comuníquelo al remitente. Datos bancarios disponibles bajo petición.",
        "Please consider the environment before printing this email.",
    ],
)
def test_legal_footers_are_dropped(footer: str) -> None:
    text = routing_text(f"Please send us the remittance advice for last week's transfer.\n\n{footer}")
    assert text == "Please send us the remittance advice for last week's transfer."


def test_registration_lines_go_and_content_about_tax_numbers_stays() -> None:
    body = (
        "Our VAT number has changed to DE999999999, please update your vendor record.\n"
        "Geschäftsführer: Peter Schmidt | Amtsgericht München HRB 123456\n"
        "SIRET 512 345 678 00021\nInscrita en el Registro Mercantil de Madrid, Tomo 1234\n"
        "Registered in England and Wales No. 04418820"
    )
    assert (
        routing_text(body) == "Our VAT number has changed to DE999999999, please update your vendor record."
    )


def test_a_phone_signature_ends_the_message() -> None:
    for mark in (
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
    ):
        assert (
            routing_text(f"wrong item delivered, pls call\n\n{mark}\nJ. Ruiz, Finance")
            == "wrong item delivered, pls call"
        )
