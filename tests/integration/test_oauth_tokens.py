"""Token sources (oauth.py) against fakes of the Microsoft identity platform and Google's token endpoint.

The Microsoft fake is respx on the v2.0 endpoints (tenant discovery and token) with the answers
Microsoft documents for the client credentials grant, errors included; msal itself builds the
requests and keeps the cache. The Google fake is an httpx.MockTransport answering the JWT-bearer
grant; it decodes the assertion google-auth really signs with a locally made service-account key.
No request leaves the process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import google.auth.jwt
import httpx
import pytest
import respx

from p2pdesk.infrastructure.email.oauth import (
    EXCHANGE_IMAP_SCOPE,
    GOOGLE_MAIL_SCOPE,
    GoogleTokenSource,
    KeptPerMailbox,
    MicrosoftTokenSource,
)
from p2pdesk.ports.mailboxes import MailboxUnavailable
from tests.fakes.entra import CLIENT, SECRET, TENANT, TOKEN_URL, fake_entra, ms_token
from tests.integration.test_gmail_reader import KEY_LINE, PUBLIC_PEM, SERVICE_ACCOUNT, TOKEN_URI

USER = "intake@p2p.example"


@pytest.fixture
def entra() -> Iterator[respx.MockRouter]:
    with fake_entra() as mock:
        yield mock


def microsoft(**overrides: Any) -> MicrosoftTokenSource:
    values = {"tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET, "scope": EXCHANGE_IMAP_SCOPE}
    return MicrosoftTokenSource(**{**values, **overrides})


def test_microsoft_client_credentials_grant_for_exchange_imap(entra: respx.MockRouter) -> None:
    token = entra.post(TOKEN_URL).mock(return_value=ms_token(1))

    assert microsoft().token() == "eyJ0.ms-token-1.sig"

    form = {k: v[0] for k, v in parse_qs(token.calls.last.request.content.decode()).items()}
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "https://outlook.office365.com/.default"
    assert (form["client_id"], form["client_secret"]) == (CLIENT, SECRET)


def test_microsoft_token_is_reused_until_five_minutes_before_it_expires(entra: respx.MockRouter) -> None:
    # A token with 4 minutes left counts as expired: the next call gets a new one before any server
    # could refuse it. One with an hour left is answered from msal's cache.
    token = entra.post(TOKEN_URL).mock(side_effect=[ms_token(1, expires_in=240), ms_token(2), ms_token(3)])
    source = microsoft()

    assert source.token() == "eyJ0.ms-token-1.sig"
    assert source.token() == "eyJ0.ms-token-2.sig"
    assert source.token() == "eyJ0.ms-token-2.sig"
    assert source.token() == "eyJ0.ms-token-2.sig"
    assert token.call_count == 2


def test_microsoft_forget_makes_the_next_call_ask_again(entra: respx.MockRouter) -> None:
    token = entra.post(TOKEN_URL).mock(side_effect=[ms_token(1), ms_token(2)])
    source = microsoft()
    assert source.token() == "eyJ0.ms-token-1.sig"

    source.forget()

    assert source.token() == "eyJ0.ms-token-2.sig"
    assert token.call_count == 2


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            {
                "error": "invalid_client",
                "error_description": f"AADSTS7000215: Invalid client secret provided. Ensure the secret "
                f"being sent in the request is the client secret value, not the client secret ID, for a "
                f"secret added to app '{CLIENT}'. {SECRET}",
                "error_codes": [7000215],
                "timestamp": "2026-11-22 02:00:00Z",
                "trace_id": "0b7b5c4e-2f3a-4b5c-9d6e-7f8a9b0c1d2e",
                "correlation_id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
            },
            "invalid_client AADSTS7000215",
        ),
        (
            {
                "error": "invalid_scope",
                "error_description": "AADSTS1002012: The provided value for scope is not valid.",
                "error_codes": [1002012],
            },
            "invalid_scope AADSTS1002012",
        ),
        ({"error": "<script>alert(1)</script>"}, "no access token"),
    ],
)
def test_a_refused_microsoft_sign_in_is_mailbox_unavailable_with_the_code_and_without_secrets(
    entra: respx.MockRouter, answer: dict[str, Any], reason: str
) -> None:
    entra.post(TOKEN_URL).respond(401 if answer["error"] == "invalid_client" else 400, json=answer)

    with pytest.raises(MailboxUnavailable) as caught:
        microsoft().token()

    text = str(caught.value)
    assert f"refused app {CLIENT} in tenant {TENANT} for {EXCHANGE_IMAP_SCOPE}: {reason}" in text
    assert SECRET not in text
    assert "error_description" not in text
    assert "<script>" not in text


def test_an_unreachable_identity_platform_is_mailbox_unavailable_and_a_later_call_recovers(
    entra: respx.MockRouter,
) -> None:
    token = entra.post(TOKEN_URL).mock(
        side_effect=[httpx.ConnectError("[Errno 111] Connection refused"), ms_token(1)]
    )
    source = microsoft()

    with pytest.raises(
        MailboxUnavailable, match=f"cannot get a Microsoft token for tenant {TENANT}"
    ) as caught:
        source.token()
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert SECRET not in str(caught.value)

    assert source.token() == "eyJ0.ms-token-1.sig"
    assert token.call_count == 2


def test_an_empty_client_secret_is_refused_up_front() -> None:
    with pytest.raises(MailboxUnavailable, match="client_secret"):
        microsoft(client_secret="")


# -- Google ----------------------------------------------------------------------------------------


class FakeGoogleToken:
    """oauth2.googleapis.com/token for the JWT-bearer grant: answers queued, assertions decoded."""

    def __init__(self) -> None:
        self.claims: list[dict[str, Any]] = []
        self.answers: list[httpx.Response] = []
        self.issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == TOKEN_URI
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        self.claims.append(google.auth.jwt.decode(form["assertion"], certs=PUBLIC_PEM, audience=TOKEN_URI))
        if self.answers:
            return self.answers.pop(0)
        return self.token()

    def token(self, expires_in: int = 3599) -> httpx.Response:
        self.issued += 1
        return httpx.Response(
            200,
            json={
                "access_token": f"ya29.google-{self.issued}",
                "expires_in": expires_in,
                "token_type": "Bearer",
            },
        )


@pytest.fixture
def google_token() -> FakeGoogleToken:
    return FakeGoogleToken()


def google_source(fake: FakeGoogleToken, key: Any = SERVICE_ACCOUNT) -> GoogleTokenSource:
    http = httpx.Client(transport=httpx.MockTransport(fake))
    return GoogleTokenSource.from_key(key, user=USER, scopes=[GOOGLE_MAIL_SCOPE], http=http)


def test_google_signs_for_the_mailbox_user_with_the_imap_scope_and_reuses_the_token(
    google_token: FakeGoogleToken,
) -> None:
    source = google_source(google_token, json.dumps(SERVICE_ACCOUNT))  # the secret as stored: JSON text

    assert [source.token(), source.token()] == ["ya29.google-1", "ya29.google-1"]

    [claims] = google_token.claims
    assert claims["iss"] == SERVICE_ACCOUNT["client_email"]
    assert claims["sub"] == USER  # domain-wide delegation: the service account acts as the user
    assert claims["scope"] == "https://mail.google.com/"


def test_google_token_is_renewed_before_it_expires(google_token: FakeGoogleToken) -> None:
    # google-auth counts a token as expired 3 min 45 s early: one with a minute left is replaced.
    google_token.answers.append(google_token.token(expires_in=60))
    source = google_source(google_token)

    assert source.token() == "ya29.google-1"
    assert source.token() == "ya29.google-2"
    assert source.token() == "ya29.google-2"
    assert len(google_token.claims) == 2


def test_google_forget_makes_the_next_call_sign_in_again(google_token: FakeGoogleToken) -> None:
    source = google_source(google_token)
    assert source.token() == "ya29.google-1"

    source.forget()

    assert source.token() == "ya29.google-2"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            httpx.Response(
                401,
                json={
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens using this "
                    "method, or client not authorized for any of the scopes requested.",
                },
            ),
            "unauthorized_client",
        ),
        (
            httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "Invalid email or User ID"}
            ),
            "invalid_grant",
        ),
    ],
)
def test_a_refused_google_sign_in_is_mailbox_unavailable_without_the_key(
    google_token: FakeGoogleToken, answer: httpx.Response, reason: str
) -> None:
    google_token.answers.append(answer)

    with pytest.raises(MailboxUnavailable) as caught:
        google_source(google_token).token()

    text = str(caught.value)
    assert f"Google sign-in as {USER} failed ({reason})" in text
    assert "domain-wide delegation for https://mail.google.com/" in text
    assert KEY_LINE not in text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("key", ["not json", "[]", json.dumps({"type": "service_account"})])
def test_an_unusable_service_account_key_is_mailbox_unavailable(key: str) -> None:
    with pytest.raises(MailboxUnavailable, match="service account info is not usable"):
        GoogleTokenSource.from_key(key, user=USER, scopes=[GOOGLE_MAIL_SCOPE])


# -- kept across polls ---------------------------------------------------------------------------


def test_kept_per_mailbox_reuses_until_what_it_was_made_from_changes() -> None:
    kept: KeptPerMailbox[object] = KeptPerMailbox()
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    first = kept.get(1, {"secret": "a"}, make)
    assert kept.get(1, {"secret": "a"}, make) is first
    other_mailbox = kept.get(2, {"secret": "a"}, make)
    changed = kept.get(1, {"secret": "b"}, make)

    assert len(made) == 3
    assert other_mailbox is not first
    assert changed is not first
    assert kept.get(1, {"secret": "b"}, make) is changed


def test_kept_per_mailbox_keeps_nothing_when_making_fails() -> None:
    kept: KeptPerMailbox[str] = KeptPerMailbox()

    def broken() -> str:
        raise MailboxUnavailable("bad key")

    with pytest.raises(MailboxUnavailable):
        kept.get(1, {"secret": "x"}, broken)
    assert kept.get(1, {"secret": "x"}, lambda: "made") == "made"
