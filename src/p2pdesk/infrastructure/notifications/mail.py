"""The Mailer port on Django's email backends: SMTP in production, a folder of .eml files by default."""

from __future__ import annotations

import smtplib

from django.core.mail import EmailMessage, get_connection

from p2pdesk.ports.mail import MailNotSent, OutboundEmail


class DjangoMailer:
    def __init__(self, backend: str | None = None, **backend_options: object) -> None:
        self._backend = backend
        self._options = backend_options

    def send(self, email: OutboundEmail) -> None:
        headers = {"Message-ID": f"<{email.message_id}>", **dict(email.headers)}
        if email.in_reply_to:
            headers["In-Reply-To"] = f"<{email.in_reply_to}>"
        if email.references:
            headers["References"] = " ".join(f"<{ref}>" for ref in email.references)
        message = EmailMessage(
            subject=email.subject,
            body=email.text,
            from_email=email.from_address,
            to=list(email.to),
            cc=list(email.cc),
            headers=headers,
            connection=get_connection(self._backend, fail_silently=False, **self._options),
        )
        try:
            message.send()
        except (smtplib.SMTPException, OSError) as error:  # timeouts are OSErrors
            raise MailNotSent(f"{type(error).__name__}: {error}") from error
