"""The Django mailer against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from p2pdesk.infrastructure.notifications.mail import DjangoMailer
from p2pdesk.ports.mail import MailNotSent, OutboundEmail


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    with socket.socket() as probe:  # a free loopback port (aiosmtpd checks readiness by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def smtp_mailer(port: int) -> DjangoMailer:
    return DjangoMailer("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port, timeout=5)


def test_reply_reaches_the_server_threaded_and_marked(smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    smtp_mailer(port).send(
        OutboundEmail(
            from_address="ap@p2p.example",
            to=("vendor@acme.example",),
            subject="Re: [P2P-000007] Invoice INV-7 — Zahlung",
            text="Paid on 12 Nov; remittance attached.\nC:\\Users\\ap stays intact.",
            message_id="p2p.7.abc@p2p.example",
            in_reply_to="m1@acme.example",
            references=("m0@acme.example", "m1@acme.example"),
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    [(sender, recipients, raw)] = sink.messages
    assert (sender, recipients) == ("ap@p2p.example", ["vendor@acme.example"])
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Message-ID"] == "<p2p.7.abc@p2p.example>"
    assert message["In-Reply-To"] == "<m1@acme.example>"
    assert message["References"] == "<m0@acme.example> <m1@acme.example>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert str(message["Subject"]) == "Re: [P2P-000007] Invoice INV-7 — Zahlung"
    assert "C:\\Users\\ap stays intact." in message.get_content()


def test_a_refusing_server_raises_mail_not_sent() -> None:
    with pytest.raises(MailNotSent):
        smtp_mailer(1).send(
            OutboundEmail(
                from_address="a@p2p.example", to=("b@x.example",), subject="s", text="t", message_id="x@y"
            )
        )
