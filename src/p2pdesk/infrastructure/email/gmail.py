"""Gmail mailbox reader (ports.mailboxes.MailboxReader) on the Gmail REST API, with httpx and google-auth.

Plain httpx rather than google-api-python-client: the reader needs seven endpoints, and httpx gives
one client with one timeout for them and for the token exchange, a retry loop we own (its sleep is
injectable), and `httpx.MockTransport` for tests that never leave the process; the generated
client would bring httplib2, a discovery document and its own retries and sleeps.

Sync follows Google's guide (developers.google.com/gmail/api/guides/sync):
- full sync, the first time or when the stored history id has expired: note the mailbox's current
  history id, then list the label. The listing restarts at the top of the label on every batch:
  acknowledging removes the label, so the messages already taken have left the listing, and a
  stored page token could point past messages that moved up. Once a listing ends, the noted
  history id becomes the cursor, so whatever arrived meanwhile comes in through the history;
- incremental sync: `history.list` of `messageAdded` on the label since the stored history id; a
  404 means the id has expired, so sync fully again (intake drops what it already has).
The cursor returned with a batch is stored by the poller only after the batch is committed.

Push (developers.google.com/gmail/api/guides/push): GmailPushChannel keeps a `users.watch` on the
label, which publishes to a Cloud Pub/Sub topic; Pub/Sub pushes to /hooks/gmail/ with an OIDC token
that PubSubPushVerifier checks. The notification only triggers a poll from the stored history id.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import google.auth.exceptions
import google.auth.transport
import httpx
import structlog
from google.auth.credentials import Credentials
from google.oauth2 import id_token

from p2pdesk.infrastructure.email.oauth import HttpxAuthRequest, delegated_credentials, google_auth_failure
from p2pdesk.ports.mailboxes import (
    FetchBatch,
    FetchedMessage,
    InvalidPushToken,
    MailboxUnavailable,
    PushSubscription,
)

log = structlog.get_logger(__name__)

GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.modify"
API_ROOT = "https://gmail.googleapis.com/gmail/v1/users/"
_MAX_PAGE = 500  # the maxResults ceiling of messages.list and history.list
_MAX_BATCH_MODIFY = 1000  # batchModify takes at most 1000 ids
_MAX_BACKOFF = 32.0
# Google asks for exponential backoff on these: quota (429, or 403 with one of these reasons) and
# transient backend errors (5xx). Anything else will not get better by asking again.
_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class GmailSettings:
    user: str  # the mailbox's address, impersonated through domain-wide delegation
    label: str = "INBOX"  # a label id or name; system labels (INBOX) are their own ids
    processed_label: str = "p2pdesk/processed"  # a label name, created on first acknowledge
    # The service account's JSON key; kept out of repr() so a logged settings object leaks nothing.
    service_account_info: Mapping[str, Any] = field(default_factory=dict, repr=False)
    timeout: float = 30.0
    max_retries: int = 5

    def __post_init__(self) -> None:
        if not self.user:
            raise ValueError("user (the mailbox address) is required")
        if self.label == self.processed_label:
            raise ValueError("the processed label must differ from the label read")
        if self.max_retries < 0:
            raise ValueError("max_retries must not be negative")


class GmailApiError(MailboxUnavailable):
    """The Gmail API refused a call; the message names the call, status and reason, never a body."""

    def __init__(self, message: str, *, status: int, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class GmailMailboxReader:
    """One mailbox user and label; not thread-safe (run one reader per mailbox and thread).

    `credentials` replaces the service account (any google-auth credentials); `transport` and
    `sleep` let tests answer every request, the token exchange included, and skip the waits.
    """

    def __init__(
        self,
        settings: GmailSettings,
        *,
        credentials: Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        if credentials is None:
            credentials = delegated_credentials(
                settings.service_account_info, user=settings.user, scopes=[GMAIL_SCOPE]
            )
        self._credentials = credentials
        self._client = httpx.Client(
            base_url=API_ROOT + quote(settings.user, safe="@") + "/",
            transport=transport,
            timeout=settings.timeout,
        )
        self._auth_request = HttpxAuthRequest(self._client)
        self._labels: dict[str, str] | None = None  # label names and ids -> ids

    def fetch(self, cursor: Mapping[str, Any], *, limit: int) -> FetchBatch:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        history_id = cursor.get("history_id")
        if history_id is None:
            ids, next_cursor, more = self._full_sync(cursor, limit)
        else:
            try:
                ids, next_cursor, more = self._added_since(str(history_id), limit)
            except GmailApiError as exc:
                if exc.status != 404:
                    raise
                log.warning("gmail.history_expired", user=self._settings.user, history_id=history_id)
                ids, next_cursor, more = self._full_sync({}, limit)
        return FetchBatch(messages=self._download(ids), cursor=next_cursor, more=more)

    def acknowledge(self, refs: Sequence[str]) -> None:
        if not refs:
            return
        processed = self._processed_label_id()
        label = self._label_id(self._settings.label)
        for start in range(0, len(refs), _MAX_BATCH_MODIFY):
            self._call(
                "POST",
                "messages/batchModify",
                "messages.batchModify",
                json={
                    "ids": list(refs[start : start + _MAX_BATCH_MODIFY]),
                    "addLabelIds": [processed],
                    "removeLabelIds": [label],
                },
            )

    def close(self) -> None:
        self._client.close()

    # -- push (for GmailPushChannel) -------------------------------------------------------------

    def watch(self, topic: str) -> PushSubscription:
        """Start or renew the watch on the label (a new call replaces the old watch)."""
        answer = self._call(
            "POST",
            "watch",
            "watch",
            json={
                "topicName": topic,
                "labelIds": [self._label_id(self._settings.label)],
                "labelFilterBehavior": "INCLUDE",
            },
        )
        try:
            expires_at = datetime.fromtimestamp(int(answer["expiration"]) / 1000, tz=UTC)  # epoch ms
        except (KeyError, ValueError, TypeError, OverflowError):
            raise MailboxUnavailable(
                f"Gmail watch for {self._settings.user} answered without an expiration"
            ) from None
        return PushSubscription(external_id=self._settings.user, expires_at=expires_at)

    def stop_watch(self) -> None:
        self._call("POST", "stop", "stop")

    # -- sync ----------------------------------------------------------------------------------

    def _full_sync(self, cursor: Mapping[str, Any], limit: int) -> tuple[list[str], dict[str, Any], bool]:
        # Noted before listing starts and kept until it ends, so a message arriving during a listing
        # that spans several batches (or polls) is in the history that follows it.
        since = cursor.get("full_sync_since") or self._call("GET", "profile", "getProfile")["historyId"]
        label = self._label_id(self._settings.label)
        ids: list[str] = []
        page_token = None
        while len(ids) < limit:
            params: dict[str, Any] = {"labelIds": label, "maxResults": min(limit - len(ids), _MAX_PAGE)}
            if page_token:
                params["pageToken"] = page_token
            page = self._call("GET", "messages", "messages.list", params=params)
            # New mail lands on top while we page, which can show a message on two pages.
            ids.extend(m["id"] for m in page.get("messages", []) if m["id"] not in ids)
            page_token = page.get("nextPageToken")
            if not page_token:
                return ids[:limit], {"history_id": str(since)}, False
        return ids[:limit], {"full_sync_since": str(since)}, True

    def _added_since(self, start: str, limit: int) -> tuple[list[str], dict[str, Any], bool]:
        label = self._label_id(self._settings.label)
        ids: list[str] = []
        last_record = start
        page_token = None
        while True:
            params: dict[str, Any] = {
                "startHistoryId": start,
                "historyTypes": "messageAdded",
                "labelId": label,
                "maxResults": _MAX_PAGE,
            }
            if page_token:
                params["pageToken"] = page_token
            page = self._call("GET", "history", "history.list", params=params)
            for record in page.get("history", []):
                # Only `messagesAdded`: a record's `messages` lists every message it touched, label
                # changes and deletions included.
                added = [a["message"]["id"] for a in record.get("messagesAdded", [])]
                added = [ref for ref in dict.fromkeys(added) if ref not in ids]
                if ids and len(ids) + len(added) > limit:
                    # History lists records *after* its start, and record ids are history ids:
                    # the next batch resumes right after the last record taken whole. (A single
                    # record adding more than `limit` messages is taken whole: it cannot be split.)
                    return ids, {"history_id": last_record}, True
                ids.extend(added)
                last_record = str(record["id"])
            page_token = page.get("nextPageToken")
            if not page_token:
                # The page's historyId is the mailbox's latest: nothing before it is left to read.
                return ids, {"history_id": str(page.get("historyId") or last_record)}, False

    def _download(self, ids: Sequence[str]) -> list[FetchedMessage]:
        messages = []
        for ref in ids:
            try:
                body = self._call("GET", f"messages/{ref}", "messages.get", params={"format": "raw"})
            except GmailApiError as exc:
                if exc.status != 404:
                    raise
                # Deleted since it was listed: there is nothing left to take in or acknowledge.
                log.info("gmail.message_gone", user=self._settings.user, ref=ref)
                continue
            messages.append(FetchedMessage(ref=ref, raw=decode_raw(body["raw"])))
        return messages

    # -- labels --------------------------------------------------------------------------------

    def _label_ids(self, *, refresh: bool = False) -> dict[str, str]:
        if self._labels is None or refresh:
            labels = self._call("GET", "labels", "labels.list").get("labels", [])
            self._labels = {key: label["id"] for label in labels for key in (label["id"], label["name"])}
        return self._labels

    def _label_id(self, name: str) -> str:
        label_id = self._label_ids().get(name)
        if label_id is None:
            raise MailboxUnavailable(f"Gmail label {name!r} does not exist for {self._settings.user}")
        return label_id

    def _processed_label_id(self) -> str:
        name = self._settings.processed_label
        label_id = self._label_ids().get(name)
        if label_id is not None:
            return label_id
        try:
            created = self._call("POST", "labels", "labels.create", json={"name": name})
        except GmailApiError as exc:
            # 409: someone created it since we listed the labels; it exists, so use it.
            if exc.status != 409:
                raise
            self._label_ids(refresh=True)
            return self._label_id(name)
        self._label_ids()[name] = created["id"]
        return str(created["id"])

    # -- HTTP ----------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """One API call, retried with exponential backoff on quota and transient server errors."""
        for attempt in range(self._settings.max_retries + 1):
            response = self._send(method, path, what, params, json)
            if response.is_success:
                return response.json() if response.content else {}
            status, reason = response.status_code, _reason(response)
            if attempt == self._settings.max_retries or not _retryable(status, reason):
                break
            self._sleep(min(2.0**attempt, _MAX_BACKOFF))
        detail = f"HTTP {status} ({reason})" if reason else f"HTTP {status}"
        raise GmailApiError(
            f"Gmail {what} for {self._settings.user} failed: {detail}",
            status=status,
            reason=reason,
        )

    def _send(
        self, method: str, path: str, what: str, params: Mapping[str, Any] | None, json: Any
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        try:
            # Fetches or renews the access token when needed, then sets the Authorization header.
            self._credentials.before_request(self._auth_request, method, path, headers)
            return self._client.request(method, path, params=params, json=json, headers=headers)
        # `from None` everywhere: the chained exceptions carry the request, its bearer token and the
        # signed assertion.
        except google.auth.exceptions.GoogleAuthError as exc:
            raise MailboxUnavailable(
                f"Gmail sign-in as {self._settings.user} failed ({google_auth_failure(exc)}): check the "
                f"service account key and its domain-wide delegation for {GMAIL_SCOPE}"
            ) from None
        except httpx.HTTPError as exc:
            raise MailboxUnavailable(
                f"Gmail {what} for {self._settings.user} failed: {type(exc).__name__}: {exc}"
            ) from None


class GmailPushChannel:
    """ports.mailboxes.PushChannel: a Gmail watch publishing the label's changes to a Pub/Sub topic.

    Gmail has no subscription id or client secret: the watch is per user, renewing is watching
    again, and the pushes are authenticated by Pub/Sub's OIDC token instead.
    """

    def __init__(self, reader: GmailMailboxReader, topic: str) -> None:
        self._reader = reader
        self._topic = topic

    def subscribe(self, *, client_state: str, expires_at: datetime) -> PushSubscription:
        return self._reader.watch(self._topic)  # Gmail sets the expiration (7 days)

    def renew(self, external_id: str, *, expires_at: datetime) -> PushSubscription:
        return self._reader.watch(self._topic)

    def delete(self, external_id: str) -> None:
        self._reader.stop_watch()

    def close(self) -> None:
        self._reader.close()


GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"  # Google's OIDC signing certificates
_GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
_CLOCK_SKEW = 10  # seconds of leeway on iat/exp for our clock against Google's
_CERTS_DEFAULT_AGE = 300.0  # when the answer gives no max-age
_CERTS_MAX_AGE = 24 * 3600.0
_CERTS_REFRESH_AFTER = 60.0  # a failed check refetches certificates older than this, once
_MAX_AGE = re.compile(r"max-age=(\d+)")


class PubSubPushVerifier:
    """ports.mailboxes.PushTokenVerifier for Cloud Pub/Sub push: the OIDC token in `Authorization`.

    Checks the signature against Google's certificates (from `certs_url`, cached as their
    Cache-Control allows, refetched once when a check fails, as after a key rotation), the expiry,
    the issuer, the audience (never skipped: without one every token is refused), and that the token
    names the push subscription's service account with a verified email. `transport` lets tests
    serve the certificates.
    """

    def __init__(
        self,
        *,
        audience: str,
        service_account_email: str,
        certs_url: str = GOOGLE_CERTS_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._audience = audience
        self._email = service_account_email
        self._certs_url = certs_url
        self._certs = _CachingRequest(
            HttpxAuthRequest(httpx.Client(transport=transport, timeout=timeout)), clock
        )

    def verify(self, token: str) -> None:
        if not self._audience or not self._email:
            raise InvalidPushToken(
                "Gmail push is off: set P2PDESK_GMAIL_PUSH_AUDIENCE and P2PDESK_GMAIL_PUSH_SERVICE_ACCOUNT"
            )
        try:
            claims = self._verified(token)
        except InvalidPushToken:
            if self._certs.age(self._certs_url) < _CERTS_REFRESH_AFTER:
                raise
            self._certs.forget(self._certs_url)
            claims = self._verified(token)
        if claims.get("iss") not in _GOOGLE_ISSUERS:
            raise InvalidPushToken("the token was not issued by Google")
        if claims.get("email") != self._email or claims.get("email_verified") is not True:
            raise InvalidPushToken("the token does not name the push service account with a verified email")

    def _verified(self, token: str) -> Mapping[str, Any]:
        try:
            return id_token.verify_token(
                token,
                self._certs,
                audience=self._audience,
                certs_url=self._certs_url,
                clock_skew_in_seconds=_CLOCK_SKEW,
            )
        except google.auth.exceptions.TransportError:
            raise InvalidPushToken("Google's certificates cannot be fetched") from None
        # google-auth raises ValueError (signature, expiry, audience, malformed), its own errors,
        # or PyJWT's for JWK sets: whatever it is, the token is not verified.
        except Exception as exc:
            raise InvalidPushToken(_failure(exc, token)) from None


class _CachingRequest(google.auth.transport.Request):
    """Answers repeated GETs (the certificates) from memory for as long as their max-age allows."""

    def __init__(self, inner: google.auth.transport.Request, clock: Callable[[], float]) -> None:
        self._inner = inner
        self._clock = clock
        self._cache: dict[str, tuple[float, float, google.auth.transport.Response]] = {}

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> google.auth.transport.Response:
        now = self._clock()
        cached = self._cache.get(url) if method == "GET" else None
        if cached is not None and cached[1] > now:
            return cached[2]
        response = self._inner(url, method=method, body=body, headers=headers, timeout=timeout, **kwargs)
        if method == "GET" and response.status == 200:
            self._cache[url] = (now, now + _max_age(response.headers), response)
        return response

    def age(self, url: str) -> float:
        cached = self._cache.get(url)
        return self._clock() - cached[0] if cached is not None else 0.0

    def forget(self, url: str) -> None:
        self._cache.pop(url, None)


def _failure(exc: Exception, token: str) -> str:
    """Why verification failed, for the log; without any part of the token, which some messages quote."""
    text = str(exc)
    if token in text or any(part in text for part in token.split(".") if len(part) >= 4):
        text = "the token is malformed"
    return f"{type(exc).__name__}: {text[:200]}"


def _max_age(headers: Mapping[str, str]) -> float:
    found = _MAX_AGE.search(headers.get("cache-control", "") or "")
    return min(float(found.group(1)), _CERTS_MAX_AGE) if found else _CERTS_DEFAULT_AGE


def decode_raw(raw: str) -> bytes:
    """The message bytes of a `format=raw` answer: base64url, whose padding Gmail may leave out."""
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def _reason(response: httpx.Response) -> str:
    """Google's reason code (`userRateLimitExceeded`, `notFound`, …) from an error answer, or ''."""
    try:
        error = response.json()["error"]
        reasons = [e.get("reason") for e in error.get("errors", [])]
        reasons += [d.get("reason") for d in error.get("details", [])]
        reasons.append(error.get("status"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""
    found = [r for r in reasons if isinstance(r, str) and r]
    # A rate-limit reason wins: it decides whether a 403 is worth retrying.
    return next((r for r in found if r in _RATE_LIMIT_REASONS), found[0] if found else "")


def _retryable(status: int, reason: str) -> bool:
    return status in _RETRY_STATUSES or (status == 403 and reason in _RATE_LIMIT_REASONS)
