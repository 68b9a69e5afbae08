"""IMAP XOAUTH2 end to end: token endpoint fake -> token source -> SASL XOAUTH2 -> a real Dovecot.

The Dovecot is a private instance (tests/integration/dovecot.py `oauth_dovecot`) whose oauth2
passdb asks a local introspection endpoint (RFC 7662, served here by `Introspection`) whether the
bearer token is active and whose it is; the token endpoints are faked in process (respx for
Microsoft, an httpx transport for Google). So the SASL string imapclient builds is checked by a
real server, and every token a login presents is seen and judged by the fake issuer.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from p2pdesk.infrastructure.email.imap import ImapMailboxReader, ImapSettings
from p2pdesk.infrastructure.email.oauth import GOOGLE_MAIL_SCOPE, GoogleTokenSource, MicrosoftTokenSource
from p2pdesk.ports.mailboxes import MailboxUnavailable
from tests.fakes.entra import CLIENT, SECRET, TENANT, TOKEN_URL, fake_entra, ms_token
from tests.integration.dovecot import DovecotServer, DovecotUnavailable, TestMailbox, oauth_dovecot
from tests.integration.test_gmail_reader import SERVICE_ACCOUNT
from tests.integration.test_imap_reader import message
from tests.integration.test_oauth_tokens import FakeGoogleToken

pytestmark = pytest.mark.imap


class Introspection:
    """The issuer's introspection endpoint: a token is active while it is in `active`."""

    def __init__(self, username: str) -> None:
        self.username = username
        self.active: set[str] = set()
        self.seen: list[str] = []  # every token Dovecot asked about, in order
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
                token = form.get("token", [""])[0]
                outer.seen.append(token)
                answer: dict[str, Any] = {"active": False}
                if token in outer.active:
                    answer = {"active": True, "username": outer.username, "scope": "IMAP.AccessAsApp"}
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # keep pytest's output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/introspect"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def introspection() -> Iterator[Introspection]:
    endpoint = Introspection(DovecotServer.from_environment().user)
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module")
def oauth_server(introspection: Introspection) -> Iterator[DovecotServer]:
    try:
        with oauth_dovecot(introspection.url) as server:
            yield server
    except DovecotUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs a private Dovecot for XOAUTH2: {exc}", pytrace=False)
        pytest.skip(f"needs a private Dovecot: {exc}")


@pytest.fixture
def mailbox(oauth_server: DovecotServer, introspection: Introspection) -> Iterator[TestMailbox]:
    introspection.active.clear()
    introspection.seen.clear()
    created = TestMailbox.create(oauth_server)  # set up with the password
    yield created
    created.remove()


@pytest.fixture
def entra() -> Iterator[respx.MockRouter]:
    with fake_entra() as mock:
        yield mock


def microsoft_tokens() -> MicrosoftTokenSource:
    return MicrosoftTokenSource(
        tenant_id=TENANT,
        client_id=CLIENT,
        client_secret=SECRET,
        scope="https://outlook.office365.com/.default",
    )


def reader(mailbox: TestMailbox, tokens: Any) -> ImapMailboxReader:
    server = mailbox.server
    return ImapMailboxReader(
        ImapSettings(
            host=server.host,
            port=server.port,
            security="none",
            username=server.user,
            folder=mailbox.folder,
            processed_folder=mailbox.processed_folder,
            tokens=tokens,
        )
    )


def poll(mailbox: TestMailbox, tokens: Any) -> list[bytes]:
    """One poll as the poller runs it: a new reader, fetch, acknowledge, close."""
    imap = reader(mailbox, tokens)
    try:
        batch = imap.fetch({}, limit=10)
        imap.acknowledge([m.ref for m in batch.messages])
        return [m.raw for m in batch.messages]
    finally:
        imap.close()


def test_an_exchange_app_token_logs_in_with_xoauth2_and_reads_the_folder(
    mailbox: TestMailbox, introspection: Introspection, entra: respx.MockRouter
) -> None:
    entra.post(TOKEN_URL).mock(return_value=ms_token(1))
    introspection.active.add("eyJ0.ms-token-1.sig")
    mailbox.append(message(1))

    assert poll(mailbox, microsoft_tokens()) == [message(1)]
    assert introspection.seen == ["eyJ0.ms-token-1.sig"]
    assert [raw for raw, _ in mailbox.messages(mailbox.processed_folder).values()] == [message(1)]


def test_polls_reuse_the_token_and_renew_it_before_it_expires(
    mailbox: TestMailbox, introspection: Introspection, entra: respx.MockRouter
) -> None:
    # The first token has 4 minutes left: the next poll must not present it, although the server
    # would still take it. The second lasts an hour and serves every poll after.
    endpoint = entra.post(TOKEN_URL).mock(side_effect=[ms_token(1, expires_in=240), ms_token(2)])
    introspection.active.update({"eyJ0.ms-token-1.sig", "eyJ0.ms-token-2.sig"})
    tokens = microsoft_tokens()  # kept across polls, as the composition root keeps it

    for n in range(1, 4):
        mailbox.append(message(n))
        assert poll(mailbox, tokens) == [message(n)]

    assert introspection.seen == ["eyJ0.ms-token-1.sig", "eyJ0.ms-token-2.sig", "eyJ0.ms-token-2.sig"]
    assert endpoint.call_count == 2


def test_a_token_refused_before_it_expires_is_replaced_once(
    mailbox: TestMailbox, introspection: Introspection, entra: respx.MockRouter
) -> None:
    endpoint = entra.post(TOKEN_URL).mock(side_effect=[ms_token(1), ms_token(2)])
    introspection.active.add("eyJ0.ms-token-2.sig")  # token 1 was revoked at the issuer
    mailbox.append(message(1))

    assert poll(mailbox, microsoft_tokens()) == [message(1)]
    assert introspection.seen == ["eyJ0.ms-token-1.sig", "eyJ0.ms-token-2.sig"]
    assert endpoint.call_count == 2


def test_a_refused_login_is_mailbox_unavailable_without_the_tokens(
    mailbox: TestMailbox, introspection: Introspection, entra: respx.MockRouter
) -> None:
    entra.post(TOKEN_URL).mock(side_effect=[ms_token(1), ms_token(2)])  # neither is active
    imap = reader(mailbox, microsoft_tokens())

    with pytest.raises(MailboxUnavailable, match="IMAP XOAUTH2 login") as caught:
        imap.fetch({}, limit=10)
    imap.close()

    text = str(caught.value)
    assert "AUTHENTICATIONFAILED" in text
    assert f"as {mailbox.server.user}" in text
    assert "ms-token" not in text
    assert SECRET not in text
    assert caught.value.__cause__ is None


def test_a_google_service_account_token_logs_in_with_xoauth2(
    mailbox: TestMailbox, introspection: Introspection
) -> None:
    issuer = FakeGoogleToken()
    introspection.active.add("ya29.google-1")
    tokens = GoogleTokenSource.from_key(
        json.dumps(SERVICE_ACCOUNT),
        user=mailbox.server.user,
        scopes=[GOOGLE_MAIL_SCOPE],
        http=httpx.Client(transport=httpx.MockTransport(issuer)),
    )
    mailbox.append(message(1))

    assert poll(mailbox, tokens) == [message(1)]
    assert introspection.seen == ["ya29.google-1"]
    [claims] = issuer.claims
    assert (claims["sub"], claims["scope"]) == (mailbox.server.user, "https://mail.google.com/")
