"""OAuth access tokens for mailboxes: fetched with the mailbox's own credentials, kept, renewed early.

An access token lives about an hour. Storing one as a mailbox's secret (as the first IMAP XOAUTH2
path did) makes the mailbox fail silently an hour later; here the secret is the long-lived
credential, and a token source turns it into access tokens when they are needed:

- MicrosoftTokenSource: app-only MSAL client credentials (tenant id, client id, client secret)
  for Exchange Online IMAP (scope https://outlook.office365.com/.default) and Microsoft Graph.
  msal answers from its token cache until five minutes before the token expires (or its
  `refresh_in` hint passes), then asks the identity platform again.
- GoogleTokenSource: a service-account key acting as the mailbox user through domain-wide
  delegation (google-auth) for Gmail IMAP (scope https://mail.google.com/). google-auth counts a
  token as expired 3 min 45 s before it is, so it is renewed before any server refuses it.

Token sources are meant to outlive a poll: the composition root keeps one per mailbox and
credentials (KeptPerMailbox), so the next poll reuses the token instead of signing in again, and
a changed secret or setting starts afresh. Every failure is MailboxUnavailable with a reason an
admin can act on (the provider's error code, never its full text, a token or the secret), which
the poller records as the mailbox's health.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import google.auth.exceptions
import google.auth.transport
import httpx
import msal
from google.auth.credentials import Credentials
from google.oauth2 import service_account

from p2pdesk.ports.mailboxes import MailboxUnavailable

EXCHANGE_IMAP_SCOPE = "https://outlook.office365.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GOOGLE_MAIL_SCOPE = "https://mail.google.com/"  # the one scope Gmail's IMAP accepts
MICROSOFT_AUTHORITY_HOST = "https://login.microsoftonline.com"
# Entra and Google error codes are identifiers ("invalid_client", "unauthorized_client"); anything
# else in that place is not repeated in an error message.
_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")

GoogleCredentials = Credentials  # what GoogleTokenSource and the Gmail reader share


class TokenSource(Protocol):
    def token(self) -> str:
        """A valid access token: the kept one, or a new one when it expires within minutes."""
        ...

    def forget(self) -> None:
        """Drop the kept token (a server refused it); the next `token()` asks for a new one."""
        ...


class MicrosoftTokenSource:
    """App-only tokens from the Microsoft identity platform (OAuth 2.0 client credentials grant).

    `http` is used for the token endpoint; without one the source makes its own client, which
    lives as long as the source does.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        scope: str,
        authority_host: str = MICROSOFT_AUTHORITY_HOST,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        for name, value in (
            ("tenant_id", tenant_id),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ):
            if not value:
                raise MailboxUnavailable(f"Microsoft sign-in needs {name}; it is empty")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._secret = client_secret
        self._scope = scope
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._app: Any = None  # msal.ConfidentialClientApplication, built on first use
        self._cache = msal.TokenCache()
        self._lock = threading.Lock()  # one poller and one push renewal may share a source
        self._last = ""  # the last token handed out, kept to redact it from error text

    def token(self) -> str:
        with self._lock:
            try:
                if self._app is None:
                    # Built on first use because msal fetches the tenant's OIDC metadata right
                    # away. instance_discovery=False: trust the configured authority host instead
                    # of asking login.microsoftonline.com to vouch for it.
                    self._app = msal.ConfidentialClientApplication(
                        self.client_id,
                        client_credential=self._secret,
                        authority=self._authority,
                        http_client=self._http,
                        instance_discovery=False,
                        token_cache=self._cache,
                    )
                result = self._app.acquire_token_for_client(scopes=[self._scope])
            except (httpx.HTTPError, ValueError) as exc:
                # msal raises ValueError for an unknown tenant or an unreadable answer; `from None`:
                # the chained error holds the request with the client secret in its form.
                self._app = None  # the metadata fetch may have failed: try it again next time
                raise MailboxUnavailable(
                    f"cannot get a Microsoft token for tenant {self.tenant_id} (app {self.client_id}): "
                    f"{self.redact(f'{type(exc).__name__}: {exc}')[:300]}"
                ) from None
            token = result.get("access_token")
            if not isinstance(token, str) or not token:
                raise MailboxUnavailable(
                    f"the Microsoft identity platform refused app {self.client_id} in tenant "
                    f"{self.tenant_id} for {self._scope}: {_microsoft_reason(result)}"
                )
            self._last = token
            return token

    def forget(self) -> None:
        with self._lock:
            for entry in list(self._cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                self._cache.remove_at(entry)

    def redact(self, text: str) -> str:
        for secret in (self._secret, self._last):
            if secret:
                text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        self._http.close()


def _microsoft_reason(result: Mapping[str, Any]) -> str:
    """`invalid_client AADSTS7000215`: the error and its AADSTS codes, which Microsoft documents."""
    error = result.get("error")
    reason = error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else "no access token"
    codes = "".join(f" AADSTS{code}" for code in result.get("error_codes") or [] if isinstance(code, int))
    return reason + codes


class GoogleTokenSource:
    """Tokens for a Google Workspace user, signed by a service account with domain-wide delegation."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        user: str,
        scopes: Sequence[str],
        http: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.credentials = credentials
        self._user = user
        self._scopes = list(scopes)
        self._request = HttpxAuthRequest(http if http is not None else httpx.Client(timeout=timeout))
        self._lock = threading.Lock()

    @classmethod
    def from_key(
        cls,
        key: Mapping[str, Any] | str,
        *,
        user: str,
        scopes: Sequence[str],
        http: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> GoogleTokenSource:
        credentials = delegated_credentials(key, user=user, scopes=scopes)
        return cls(credentials, user=user, scopes=scopes, http=http, timeout=timeout)

    def token(self) -> str:
        with self._lock:
            if not self.credentials.valid:  # no token yet, or it expires within 3 min 45 s
                try:
                    self.credentials.refresh(self._request)
                except google.auth.exceptions.GoogleAuthError as exc:
                    # `from None`: the chained error carries the signed assertion.
                    raise MailboxUnavailable(
                        f"Google sign-in as {self._user} failed ({google_auth_failure(exc)}): check the "
                        f"service account key and its domain-wide delegation for {' '.join(self._scopes)}"
                    ) from None
            return str(self.credentials.token)

    def forget(self) -> None:
        with self._lock:
            self.credentials.token = None

    def close(self) -> None:
        self._request.close()


def delegated_credentials(key: Mapping[str, Any] | str, *, user: str, scopes: Sequence[str]) -> Credentials:
    """Service-account credentials acting as `user`; `key` is the JSON key, as text or parsed."""
    try:
        info = json.loads(key) if isinstance(key, str) else dict(key)
        credentials = service_account.Credentials.from_service_account_info(info, scopes=list(scopes))
    except (ValueError, KeyError, TypeError, AttributeError):
        # The error text may quote the key; name what is needed instead.
        raise MailboxUnavailable(
            f"Google mailbox {user}: the service account info is not usable "
            "(a service-account JSON key with client_email, token_uri and a PEM private_key)"
        ) from None
    # Domain-wide delegation: act as the mailbox's user, not as the service account itself.
    return credentials.with_subject(user)


def google_auth_failure(exc: google.auth.exceptions.GoogleAuthError) -> str:
    if isinstance(exc, google.auth.exceptions.TransportError):
        return f"token endpoint unreachable: {exc}"  # HttpxAuthRequest's text: the httpx error's name
    # A refusal's args[1] is the token endpoint's JSON answer; its `error` code is safe to show and
    # tells unauthorized_client (no delegation) from invalid_grant (bad key, clock or unknown user).
    data = exc.args[1] if len(exc.args) > 1 else None
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else type(exc).__name__


class HttpxAuthRequest(google.auth.transport.Request):
    """google-auth's transport interface over an httpx client, so the token exchange shares its
    timeout and, in tests, its mock transport."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> google.auth.transport.Response:
        try:
            response = self._client.request(
                method,
                url,
                content=body,
                headers=headers,
                timeout=timeout if timeout is not None else self._client.timeout,
            )
        except httpx.HTTPError as exc:
            # Name only: the request (and so the assertion in its body) must not ride along.
            raise google.auth.exceptions.TransportError(type(exc).__name__) from None
        return _AuthResponse(response)

    def close(self) -> None:
        self._client.close()


class _AuthResponse(google.auth.transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


T = TypeVar("T")


class KeptPerMailbox(Generic[T]):
    """One object (a token source, credentials) per mailbox, kept across polls for the process's life.

    Kept under a fingerprint of what it was made from (settings and secret): a mailbox whose secret
    or settings change gets a new one, and the old one is dropped, so at most one per mailbox is held.
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[str, T]] = {}
        self._lock = threading.Lock()

    def get(self, mailbox_id: int, made_from: Mapping[str, Any], make: Callable[[], T]) -> T:
        fingerprint = hashlib.sha256(json.dumps(made_from, sort_keys=True, default=str).encode()).hexdigest()
        with self._lock:
            kept = self._kept.get(mailbox_id)
            if kept is not None and kept[0] == fingerprint:
                return kept[1]
        made = make()  # may raise MailboxUnavailable: then nothing is kept
        with self._lock:
            kept = self._kept.get(mailbox_id)
            if kept is not None and kept[0] == fingerprint:
                return kept[1]  # another thread made one meanwhile: everyone shares the first
            self._kept[mailbox_id] = (fingerprint, made)
            return made
