"""IMAP mailbox reader (ports.mailboxes.MailboxReader) on imapclient.

Messages are keyed by (UIDVALIDITY, UID), never by sequence number, which shifts on every expunge.
Fetching uses `BODY.PEEK[]` on a read-only SELECT so \\Seen is never set: people and other clients
toggle \\Seen, so "processed" means "moved to the processed folder" instead. Acknowledging moves
the messages there with UID MOVE (RFC 6851), or UID COPY + \\Deleted + UID EXPUNGE (RFC 4315) on
servers without MOVE; never a bare EXPUNGE, which would also remove messages someone else flagged.

Login is by password or by SASL XOAUTH2 with an access token from a token source (oauth.py: MSAL
client credentials for Exchange Online, a delegated service account for Gmail), asked for on every
login so an expired token is never sent. A refused token is forgotten and a new one tried once:
the server may revoke a token before it expires.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from imapclient import DELETED, IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from p2pdesk.infrastructure.email.oauth import TokenSource
from p2pdesk.ports.mailboxes import FetchBatch, FetchedMessage, MailboxUnavailable

log = structlog.get_logger(__name__)

# Everything imapclient, the socket or TLS can raise once we are talking to a server (ssl.SSLError
# and socket timeouts are OSErrors; imaplib's abort and readonly errors subclass IMAPClientError).
_IMAP_ERRORS = (IMAPClientError, OSError)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: Literal["ssl", "starttls", "none"]
    username: str
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    # Secrets stay out of repr() so a logged or printed settings object leaks nothing.
    password: str | None = field(default=None, repr=False)
    tokens: TokenSource | None = field(default=None, repr=False)  # XOAUTH2 instead of a password
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        if self.security not in ("ssl", "starttls", "none"):
            raise ValueError(f"security must be 'ssl', 'starttls' or 'none', not {self.security!r}")
        if (self.password is None) == (self.tokens is None):
            raise ValueError("give exactly one of password and tokens")
        if self.folder == self.processed_folder:
            raise ValueError("the processed folder must differ from the folder read")


class ImapMailboxReader:
    """One connection to one folder; not thread-safe (run one reader per mailbox and thread)."""

    def __init__(self, settings: ImapSettings) -> None:
        self._settings = settings
        self._client: IMAPClient | None = None
        self._token = ""  # the last XOAUTH2 access token, kept only to redact it from error text

    def fetch(self, cursor: Mapping[str, Any], *, limit: int) -> FetchBatch:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._session("fetch") as client:
            uidvalidity = self._select(client, readonly=True)
            # A new UIDVALIDITY means the old UIDs name nothing: rescan from the start and let
            # intake drop what it already has (Message-ID + content hash).
            same_folder = cursor.get("uidvalidity") == uidvalidity
            last_uid = int(cursor.get("last_uid", 0)) if same_folder else 0
            # `n:*` always matches the highest UID in use, even when it is <= last_uid (RFC 3501
            # §6.4.8 reads `*` as "the largest UID"), so a quiet folder would return its last
            # message forever without this filter.
            uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
            batch = uids[:limit]
            bodies = client.fetch(batch, ["BODY.PEEK[]"]) if batch else {}
        messages = [
            # A UID missing from the answer was expunged by someone else between SEARCH and FETCH.
            FetchedMessage(ref=f"{uidvalidity}:{uid}", raw=bodies[uid][b"BODY[]"])
            for uid in batch
            if uid in bodies
        ]
        # UIDs are never reused within a UIDVALIDITY, so the cursor may step over vanished ones.
        next_cursor = {"uidvalidity": uidvalidity, "last_uid": batch[-1] if batch else last_uid}
        return FetchBatch(messages=messages, cursor=next_cursor, more=len(uids) > limit)

    def acknowledge(self, refs: Sequence[str]) -> None:
        if not refs:
            return
        parsed = [_parse_ref(ref) for ref in refs]
        target = self._settings.processed_folder
        with self._session("acknowledge") as client:
            uidvalidity = self._select(client, readonly=False)
            uids = sorted({uid for validity, uid in parsed if validity == uidvalidity})
            stale = [ref for ref, (validity, _) in zip(refs, parsed, strict=True) if validity != uidvalidity]
            if stale:
                # Those UIDs now name other messages (or none): moving them could move mail nobody
                # has ingested. The rescan that follows a UIDVALIDITY change fetches them again.
                log.warning(
                    "imap.ack_skipped",
                    host=self._settings.host,
                    username=self._settings.username,
                    folder=self._settings.folder,
                    uidvalidity=uidvalidity,
                    stale_refs=stale,
                )
            if not uids:
                return
            ensure_folder(client, target)
            if client.has_capability("MOVE"):
                client.move(uids, target)
            elif client.has_capability("UIDPLUS"):
                client.copy(uids, target)
                client.add_flags(uids, [DELETED], silent=True)
                client.uid_expunge(uids)  # expunges only these UIDs, unlike a bare EXPUNGE
            else:
                raise MailboxUnavailable(
                    f"IMAP server {self._settings.host} has neither MOVE nor UIDPLUS: "
                    "cannot remove acknowledged messages safely"
                )

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # already gone: logging out is a courtesy, nothing is lost
            _shutdown_quietly(client)

    # -- connection ----------------------------------------------------------------------------

    @contextmanager
    def _session(self, action: str) -> Iterator[IMAPClient]:
        """A live connection; an IMAP, socket or TLS failure becomes MailboxUnavailable."""
        try:
            yield self._connection()
        except _IMAP_ERRORS as exc:
            # The connection may be half-way through a command: never reuse it.
            self._drop()
            raise MailboxUnavailable(f"IMAP {action} on {self._where()} failed: {self._redact(exc)}") from exc

    def _connection(self) -> IMAPClient:
        if self._client is not None:
            # Servers drop idle connections (Dovecot's autologout, or on a UIDVALIDITY reset), so
            # probe a kept one instead of failing the poll that happens to find it dead.
            try:
                self._client.noop()
            except _IMAP_ERRORS:
                self._drop()
            else:
                return self._client
        self._client = self._connect()
        return self._client

    def _connect(self) -> IMAPClient:
        s = self._settings
        # Without a token there is nothing to log in with: the token source's reason is the error.
        token = s.tokens.token() if s.tokens is not None else None
        try:
            client = IMAPClient(
                s.host, s.port, ssl=s.security == "ssl", ssl_context=s.ssl_context, timeout=s.timeout
            )
        except _IMAP_ERRORS as exc:
            raise MailboxUnavailable(f"cannot connect to IMAP {self._where()}: {self._redact(exc)}") from exc
        try:
            if s.security == "starttls":
                # Raises if the server does not offer STARTTLS: never fall back to plain text.
                client.starttls(s.ssl_context)
            if s.tokens is not None and token is not None:
                self._xoauth2_login(client, s.tokens, token)
            else:
                client.login(s.username, s.password or "")
        except MailboxUnavailable:
            _shutdown_quietly(client)  # no token: the reason is the token source's
            raise
        except (*_IMAP_ERRORS, UnicodeError) as exc:
            _shutdown_quietly(client)
            # `from None`: the chained error and its frames hold the credentials.
            mechanism = "XOAUTH2 login" if s.tokens is not None else "login"
            raise MailboxUnavailable(
                f"IMAP {mechanism} to {self._where()} as {s.username} failed: {self._redact(exc)}"
            ) from None
        return client

    def _xoauth2_login(self, client: IMAPClient, tokens: TokenSource, token: str) -> None:
        username = self._settings.username
        self._token = token
        try:
            client.oauth2_login(username, self._token)
        except LoginError:
            # Refused although it had not expired by our clock: revoked, or the clocks disagree.
            # A failed AUTHENTICATE leaves the connection unauthenticated, so try a fresh token.
            log.info("imap.token_refused", host=self._settings.host, username=username)
            tokens.forget()
            self._token = tokens.token()
            client.oauth2_login(username, self._token)

    def _select(self, client: IMAPClient, *, readonly: bool) -> int:
        # Re-selected on every call: the answer carries the current UIDVALIDITY.
        return int(client.select_folder(self._settings.folder, readonly=readonly)[b"UIDVALIDITY"])

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _shutdown_quietly(client)

    def _where(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    def _redact(self, exc: BaseException) -> str:
        # Server replies do not echo credentials, but make sure no error text ever carries one.
        text = f"{type(exc).__name__}: {exc}"
        for secret in (self._settings.password, self._token):
            if secret:
                text = text.replace(secret, "***")
        return text


def _parse_ref(ref: str) -> tuple[int, int]:
    validity, _, uid = ref.partition(":")
    if not (validity.isdigit() and uid.isdigit()):
        raise ValueError(f"not an IMAP message ref (<uidvalidity>:<uid>): {ref!r}")
    return int(validity), int(uid)


def ensure_folder(client: IMAPClient, name: str) -> None:
    """Create folder `name` unless it exists."""
    if client.folder_exists(name):
        return
    try:
        client.create_folder(name)
    except IMAPClientError as exc:
        # Another poller may have created it since the LIST, and Dovecot itself sometimes answers
        # a LIST without the folder, then refuses CREATE with ALREADYEXISTS (RFC 5530): it exists.
        if "[ALREADYEXISTS]" not in str(exc):
            raise


def _shutdown_quietly(client: IMAPClient) -> None:
    with suppress(Exception):  # the socket is already unusable; closing it is all we want
        client.shutdown()
