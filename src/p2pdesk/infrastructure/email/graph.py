"""Microsoft Graph mailbox reader (ports.mailboxes.MailboxReader), app-only, on msal and httpx.

New mail is found with a delta query on the folder and read as raw MIME from `…/$value`, the same
bytes IMAP and Maildir hand over. Every request asks for immutable ids (`Prefer:
IdType="ImmutableId"`): an ordinary Outlook id changes when the message moves, so a ref taken from
the delta page could name nothing by the time it is acknowledged. Acknowledging moves each message
to the processed folder; it then shows up as `@removed` in the next delta round, which is skipped.
The cursor is the delta (or next) link, stored by the poller only after the batch is committed.

Push (GraphPushChannel): a change-notification subscription on the same folder, made and renewed
through the reader's own client (one token cache, one retry policy). Its notifications only
trigger the delta query above.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import quote

import httpx
import structlog

from p2pdesk.infrastructure.email.oauth import GRAPH_SCOPE, MicrosoftTokenSource
from p2pdesk.ports.mailboxes import (
    FetchBatch,
    FetchedMessage,
    MailboxUnavailable,
    PushSubscription,
    PushSubscriptionGone,
)

log = structlog.get_logger(__name__)

_IMMUTABLE_IDS = 'IdType="ImmutableId"'
_SELECT = "id,internetMessageId,receivedDateTime"  # the ids are all we need: bodies come from $value
_MAX_PAGE_SIZE = 100  # Outlook does not document its own cap for delta pages; stay modest
# A longer Retry-After ends the poll instead of parking the poller's thread; the next poll retries.
_MAX_RETRY_AFTER = 120.0
# Error codes with which Graph says a delta or next link no longer names a sync state.
_SYNC_RESET_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
# Graph error codes are identifiers ("ErrorAccessDenied"); anything else in that place is not
# repeated in an error message.
_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")


@dataclass(frozen=True)
class GraphSettings:
    tenant_id: str
    client_id: str
    # Secrets stay out of repr() so a logged or printed settings object leaks nothing.
    client_secret: str = field(repr=False)
    user: str  # the mailbox: its user id or userPrincipalName
    folder: str = "inbox"  # a well-known folder name or a folder id
    processed_folder: str = "Processed"  # display name of a top-level folder, created when missing
    authority_host: str = "https://login.microsoftonline.com"
    graph_base: str = "https://graph.microsoft.com/v1.0"
    timeout: float = 30.0
    max_retries: int = 5

    def __post_init__(self) -> None:
        for name in ("tenant_id", "client_id", "client_secret", "user", "folder", "processed_folder"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")
        if self.max_retries < 0:
            raise ValueError("max_retries must not be negative")


class _SyncStateLost(Exception):
    """Graph no longer knows the delta or next link's sync state."""


class GraphMailboxReader:
    """One folder of one mailbox over Graph; not thread-safe (one reader per mailbox and thread)."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        tokens: MicrosoftTokenSource | None = None,
    ) -> None:
        """`tokens`: a token source kept across polls (the composition root keeps one per mailbox),
        so a new reader reuses the last token; without one the reader signs in for itself."""
        self._settings = settings
        self._sleep = sleep
        # Redirects are not followed, so the bearer token only ever goes to the URLs built or
        # checked here.
        self._http = httpx.Client(timeout=settings.timeout)
        self._tokens = tokens or graph_token_source(settings, http=self._http)
        self._processed_id: str | None = None
        self._base = settings.graph_base.rstrip("/")
        self._mailbox = f"{self._base}/users/{_segment(settings.user)}"

    def fetch(self, cursor: Mapping[str, Any], *, limit: int) -> FetchBatch:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        link = self._resume_link(cursor)
        if link is not None:
            try:
                return self._read(link, limit)
            except _SyncStateLost:
                # Outlook keeps sync states in a bounded cache, so any stored link may expire:
                # read the whole folder again and let intake drop what it already has.
                log.info("graph.delta_reset", user=self._settings.user, folder=self._settings.folder)
        first = (
            f"{self._mailbox}/mailFolders/{_segment(self._settings.folder)}/messages/delta?$select={_SELECT}"
        )
        try:
            return self._read(first, limit)
        except _SyncStateLost:
            raise MailboxUnavailable(f"Graph refused a new delta query for {self._settings.user}") from None

    def acknowledge(self, refs: Sequence[str]) -> None:
        if not refs:
            return
        destination = self._processed_folder_id()
        for ref in refs:
            response = self._send(
                "POST",
                f"{self._mailbox}/messages/{_segment(ref)}/move",
                action="move",
                json={"destinationId": destination},
            )
            if response.status_code == 404:
                # Gone already (deleted, or moved by someone else): nothing is left to acknowledge.
                log.info("graph.ack_gone", user=self._settings.user, ref=ref)
            elif not response.is_success:
                self._fail(response, "move")

    def close(self) -> None:
        self._http.close()

    # -- push subscriptions (for GraphPushChannel) ----------------------------------------------

    def subscription_resource(self) -> str:
        """The folder's messages as a subscription resource (a path relative to the Graph root)."""
        folder = self._settings.folder.replace("'", "''")  # OData doubles quotes in literals
        return f"users/{self._settings.user}/mailFolders('{folder}')/messages"

    def create_subscription(self, body: Mapping[str, Any]) -> dict[str, Any]:
        response = self._send("POST", f"{self._base}/subscriptions", action="subscription", json=body)
        return self._json(response, "subscription")

    def update_subscription(self, subscription_id: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """The updated subscription, or None when Graph no longer has it (expired or removed)."""
        url = f"{self._base}/subscriptions/{_segment(subscription_id)}"
        response = self._send("PATCH", url, action="subscription renewal", json=body)
        if response.status_code == 404:
            return None
        return self._json(response, "subscription renewal")

    def delete_subscription(self, subscription_id: str) -> None:
        url = f"{self._base}/subscriptions/{_segment(subscription_id)}"
        response = self._send("DELETE", url, action="subscription deletion")
        if response.status_code != 404 and not response.is_success:
            self._fail(response, "subscription deletion")

    # -- delta ---------------------------------------------------------------------------------

    def _read(self, url: str, limit: int) -> FetchBatch:
        """Walk delta pages from `url` until the delta link or `limit` messages, then read them."""
        ids: dict[str, None] = {}  # ordered, and a message changed twice in one round comes once
        while True:
            # Ask for no more than the batch still has room for: a next link resumes after the
            # whole page, so a page cannot be split. (A server ignoring the preference could
            # still overfill the batch; the poller copes with that, it only costs memory.)
            page = self._delta_page(url, min(limit - len(ids), _MAX_PAGE_SIZE))
            for item in page.get("value") or []:
                # `@removed`: deleted or moved out of the folder, our own acknowledgements included.
                if isinstance(item, dict) and "@removed" not in item and isinstance(item.get("id"), str):
                    ids[item["id"]] = None
            if "@odata.deltaLink" in page:
                cursor, more = {"delta_link": self._own_link(page["@odata.deltaLink"])}, False
                break
            url = self._own_link(page.get("@odata.nextLink"))
            if len(ids) >= limit:
                cursor, more = {"next_link": url}, True
                break
        messages = [FetchedMessage(ref=ref, raw=raw) for ref in ids if (raw := self._mime(ref)) is not None]
        return FetchBatch(messages=messages, cursor=cursor, more=more)

    def _delta_page(self, url: str, page_size: int) -> dict[str, Any]:
        response = self._send(
            "GET", url, action="delta query", prefer=f"{_IMMUTABLE_IDS}, odata.maxpagesize={page_size}"
        )
        if response.status_code == 410 or (
            response.is_client_error and _error_code(response).lower() in _SYNC_RESET_CODES
        ):
            raise _SyncStateLost
        return self._json(response, "delta query")

    def _mime(self, ref: str) -> bytes | None:
        """The message as raw RFC 5322 bytes, streamed; None when it was deleted since."""
        response = self._send(
            "GET", f"{self._mailbox}/messages/{_segment(ref)}/$value", action="download", stream=True
        )
        try:
            if response.status_code == 404:
                return None
            if not response.is_success:
                self._fail(response, "download")
            return b"".join(response.iter_bytes())
        except httpx.HTTPError as exc:
            raise MailboxUnavailable(self._broken("download", exc)) from None
        finally:
            response.close()

    def _resume_link(self, cursor: Mapping[str, Any]) -> str | None:
        link = cursor.get("next_link") or cursor.get("delta_link")
        if link is None:
            return None
        if isinstance(link, str) and self._on_graph(link):
            return link
        # A link from another Graph endpoint (graph_base changed, say to a national cloud): the
        # token must not go there, and a full delta is always a correct place to start.
        log.warning("graph.cursor_ignored", user=self._settings.user)
        return None

    def _own_link(self, link: object) -> str:
        if isinstance(link, str) and self._on_graph(link):
            return link
        raise MailboxUnavailable(
            f"Graph delta query for {self._settings.user} answered without a usable next or delta link"
        )

    def _on_graph(self, link: str) -> bool:
        try:
            url, base = httpx.URL(link), httpx.URL(self._base)
        except httpx.InvalidURL:
            return False
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    # -- processed folder ------------------------------------------------------------------------

    def _processed_folder_id(self) -> str:
        if self._processed_id is None:
            self._processed_id = self._find_folder() or self._create_folder()
        return self._processed_id

    def _find_folder(self) -> str | None:
        name = self._settings.processed_folder.replace("'", "''")  # OData doubles quotes in literals
        query = quote(f"displayName eq '{name}'", safe="'")
        response = self._send("GET", f"{self._mailbox}/mailFolders?$filter={query}", action="folder lookup")
        folders = self._json(response, "folder lookup").get("value") or []
        first = folders[0] if isinstance(folders, list) and folders else None
        found = first.get("id") if isinstance(first, dict) else None
        return found if isinstance(found, str) else None

    def _create_folder(self) -> str:
        response = self._send(
            "POST",
            f"{self._mailbox}/mailFolders",
            action="folder creation",
            json={"displayName": self._settings.processed_folder},
        )
        if response.status_code == 409:
            # Another poller created it since our lookup.
            found = self._find_folder()
            if found is not None:
                return found
        folder_id = self._json(response, "folder creation").get("id")
        if not isinstance(folder_id, str):
            self._fail(response, "folder creation")
        log.info("graph.folder_created", user=self._settings.user, folder=self._settings.processed_folder)
        return folder_id

    # -- HTTP ------------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        action: str,
        prefer: str = _IMMUTABLE_IDS,
        json: Any = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One Graph request, retried after 429/503 as Retry-After says; any other status returns."""
        retries = self._settings.max_retries
        attempt = 0
        while True:
            headers = {"Authorization": f"Bearer {self._access_token()}", "Prefer": prefer}
            request = self._http.build_request(method, url, headers=headers, json=json)
            try:
                response = self._http.send(request, stream=stream)
            except httpx.HTTPError as exc:
                raise MailboxUnavailable(self._broken(action, exc)) from None
            if response.status_code not in (429, 503):
                return response
            response.close()
            wait = _retry_after(response, attempt)
            if attempt >= retries or wait > _MAX_RETRY_AFTER:
                raise MailboxUnavailable(
                    f"Graph {action} for {self._settings.user} still throttled after {attempt} retries "
                    f"(HTTP {response.status_code}, Retry-After {wait:g} s)"
                )
            log.info("graph.throttled", user=self._settings.user, action=action, seconds=wait)
            self._sleep(wait)
            attempt += 1

    def _access_token(self) -> str:
        # The source answers from its cache until shortly before the token expires.
        return self._tokens.token()

    def _json(self, response: httpx.Response, action: str) -> dict[str, Any]:
        if not response.is_success:
            self._fail(response, action)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise MailboxUnavailable(f"Graph {action} for {self._settings.user} answered with no JSON object")
        return body

    def _fail(self, response: httpx.Response, action: str) -> NoReturn:
        # The status and Graph's error code only: bodies may quote the mailbox's content.
        code = _error_code(response)
        raise MailboxUnavailable(
            f"Graph {action} for {self._settings.user} failed: HTTP {response.status_code}"
            + (f" {code}" if code else "")
        )

    def _broken(self, action: str, exc: BaseException) -> str:
        return f"Graph {action} for {self._settings.user} failed: {self._redact(exc)}"

    def _redact(self, exc: BaseException) -> str:
        # Neither httpx nor msal put credentials in error text, but make sure none ever gets out.
        return self._tokens.redact(f"{type(exc).__name__}: {exc}")[:300]


def graph_token_source(settings: GraphSettings, *, http: httpx.Client | None = None) -> MicrosoftTokenSource:
    return MicrosoftTokenSource(
        tenant_id=settings.tenant_id,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scope=GRAPH_SCOPE,
        authority_host=settings.authority_host,
        http=http,
        timeout=settings.timeout,
    )


@dataclass(frozen=True)
class GraphPushUrls:
    notification_url: str  # https://<public host>/hooks/graph/
    lifecycle_url: str  # https://<public host>/hooks/graph/lifecycle/


class GraphPushChannel:
    """ports.mailboxes.PushChannel: a subscription to new messages in the reader's folder.

    Graph checks `notificationUrl` and `lifecycleNotificationUrl` while it creates the subscription
    (the validation handshake of api/hooks.py), so creation fails where they are not reachable.
    """

    def __init__(self, reader: GraphMailboxReader, urls: GraphPushUrls) -> None:
        self._reader = reader
        self._urls = urls

    def subscribe(self, *, client_state: str, expires_at: datetime) -> PushSubscription:
        body = {
            "changeType": "created",
            "notificationUrl": self._urls.notification_url,
            "lifecycleNotificationUrl": self._urls.lifecycle_url,  # can only be set at creation
            "resource": self._reader.subscription_resource(),
            "expirationDateTime": _graph_time(expires_at),
            "clientState": client_state,
        }
        return self._granted(self._reader.create_subscription(body), expires_at)

    def renew(self, external_id: str, *, expires_at: datetime) -> PushSubscription:
        granted = self._reader.update_subscription(
            external_id, {"expirationDateTime": _graph_time(expires_at)}
        )
        if granted is None:
            raise PushSubscriptionGone(external_id)
        return self._granted({"id": external_id, **granted}, expires_at)

    def delete(self, external_id: str) -> None:
        self._reader.delete_subscription(external_id)

    def close(self) -> None:
        self._reader.close()

    @staticmethod
    def _granted(body: Mapping[str, Any], asked: datetime) -> PushSubscription:
        subscription_id = body.get("id")
        if not isinstance(subscription_id, str) or not subscription_id:
            raise MailboxUnavailable("Graph answered a subscription request without a subscription id")
        try:
            expires_at = datetime.fromisoformat(str(body["expirationDateTime"]))
        except (KeyError, ValueError):
            expires_at = asked
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        return PushSubscription(external_id=subscription_id, expires_at=expires_at)


def _graph_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _segment(value: str) -> str:
    """`value` as one URL path segment (ids are URL-safe base64; a UPN keeps its @)."""
    return quote(value, safe="@=")


def _retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return float(2**attempt)  # Graph sends whole seconds; without them, back off exponentially


def _error_code(response: httpx.Response) -> str:
    """Graph's `error.code` from an error answer, or "" when there is none to trust."""
    try:
        response.read()
        code = response.json()["error"]["code"]
    except (httpx.HTTPError, ValueError, LookupError, TypeError):
        return ""
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else ""
