"""GmailMailboxReader against an in-memory Gmail API (no Gmail emulator exists; nothing leaves the process).

FakeGmail answers through httpx.MockTransport with the payload shapes of Google's REST reference
(developers.google.com/gmail/api/reference/rest/v1): users.getProfile, labels.list/create,
messages.list/get/batchModify, history.list and the OAuth token endpoint, which receives the JWT
that google-auth really signs with a locally made service-account key.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import google.auth.jwt
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from p2pdesk.infrastructure.email.gmail import (
    GMAIL_SCOPE,
    GmailApiError,
    GmailMailboxReader,
    GmailSettings,
    decode_raw,
)
from p2pdesk.ports.mailboxes import FetchBatch, MailboxUnavailable

USER = "intake@p2p.example"
TOKEN_URI = "https://oauth2.googleapis.com/token"
ACCESS_TOKEN = "ya29.a0-test-access-token"
PROCESSED = "p2pdesk/processed"
DATA = Path(__file__).resolve().parent.parent / "data" / "gmail"

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC_PEM = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "p2pdesk-test",
    "private_key_id": "0123456789abcdef",
    "private_key": PRIVATE_PEM,
    "client_email": "mail-intake@p2pdesk-test.iam.gserviceaccount.com",
    "client_id": "100000000000000000001",
    "token_uri": TOKEN_URI,
}
BROKEN_KEY = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n-----END PRIVATE KEY-----\n"
KEY_LINE = PRIVATE_PEM.splitlines()[1]  # a line of the key's base64, to look for in error texts


def message(n: int, body: bytes = b"") -> bytes:
    return (
        b"From: Vendor <ap@vendor.example>\r\n"
        b"To: intake@p2p.example\r\n"
        b"Subject: Invoice INV-%d not paid\r\n"
        b"Message-ID: <inv-%d@vendor.example>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Bonjour, la facture n\xc2\xb0%d est en retard.\r\n" % (n, n, n)
    ) + body


def google_error(code: int, reason: str, text: str, status: str) -> httpx.Response:
    """An error answer as Google's APIs send it (the legacy `errors` list and the gRPC status)."""
    error = {
        "code": code,
        "message": text,
        "errors": [{"message": text, "domain": "global", "reason": reason}],
    }
    return httpx.Response(code, json={"error": {**error, "status": status}})


@dataclass
class Stored:
    id: str
    raw: bytes
    labels: list[str]
    history_id: int


class FakeGmail:
    """One Gmail mailbox in memory. `answer(name, ...)` serves scripted responses first and
    `before(name, fn)` runs `fn` once before handling the next call of that API method."""

    def __init__(self) -> None:
        self.messages: dict[str, Stored] = {}  # in arrival order
        self.labels = [
            {"id": "INBOX", "name": "INBOX", "type": "system"},
            {"id": "SENT", "name": "SENT", "type": "system"},
            {"id": "UNREAD", "name": "UNREAD", "type": "system"},
            {"id": "STARRED", "name": "STARRED", "type": "system"},
            {"id": "Label_1", "name": "Vendors", "type": "user"},
        ]
        self.records: list[dict[str, Any]] = []
        self.history_id = 9000
        self.expired_before = 0  # history.list answers 404 for older start ids
        self.max_page = 500
        self.padded = True  # Gmail's raw may come without base64 padding
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.jwt_claims: list[dict[str, Any]] = []
        self._answers: dict[str, list[httpx.Response]] = defaultdict(list)
        self._before: dict[str, Callable[[], None]] = {}
        self._ids = itertools.count(0x18F3A0000001)

    # -- the test's side -----------------------------------------------------------------------

    def deliver(self, raw: bytes, labels: Iterable[str] = ("INBOX", "UNREAD"), ref: str | None = None) -> str:
        ref = ref or f"{next(self._ids):x}"
        stored = Stored(ref, raw, list(labels), self._tick())
        self.messages[ref] = stored
        entry = {"message": {"id": ref, "threadId": ref, "labelIds": list(stored.labels)}}
        self.records.append(
            {
                "id": str(stored.history_id),
                "messages": [{"id": ref, "threadId": ref}],
                "messagesAdded": [entry],
            }
        )
        return ref

    def relabel(self, ref: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        add, remove = list(add), list(remove)
        stored = self.messages[ref]
        stored.labels = [x for x in stored.labels if x not in remove] + [
            x for x in add if x not in stored.labels
        ]
        stored.history_id = self._tick()
        record: dict[str, Any] = {"id": str(stored.history_id), "messages": [{"id": ref, "threadId": ref}]}
        entry = {"id": ref, "threadId": ref, "labelIds": list(stored.labels)}
        if add:
            record["labelsAdded"] = [{"message": entry, "labelIds": add}]
        if remove:
            record["labelsRemoved"] = [{"message": entry, "labelIds": remove}]
        self.records.append(record)

    def delete(self, ref: str) -> None:
        del self.messages[ref]
        self.records.append(
            {
                "id": str(self._tick()),
                "messages": [{"id": ref, "threadId": ref}],
                "messagesDeleted": [{"message": {"id": ref, "threadId": ref}}],
            }
        )

    def answer(self, name: str, *responses: httpx.Response) -> None:
        self._answers[name].extend(responses)

    def before(self, name: str, fn: Callable[[], None]) -> None:
        self._before[name] = fn

    def inbox(self, label: str = "INBOX") -> list[bytes]:
        return [m.raw for m in self.messages.values() if label in m.labels]

    def label_id(self, name: str) -> str:
        return next(label["id"] for label in self.labels if label["name"] == name)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [args for called, args in self.calls if called == name]

    def _tick(self) -> int:
        self.history_id += 7  # history ids grow but are not contiguous
        return self.history_id

    # -- the API -------------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "oauth2.googleapis.com":
            return self._handle("token", request, self._token)
        assert request.url.host == "gmail.googleapis.com"
        if request.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
            return google_error(401, "authError", "Invalid Credentials", "UNAUTHENTICATED")
        prefix = f"/gmail/v1/users/{USER}/"
        assert request.url.path.startswith(prefix), request.url
        route = (request.method, request.url.path.removeprefix(prefix))
        handlers: dict[tuple[str, str], tuple[str, Callable[[httpx.Request], httpx.Response]]] = {
            ("GET", "profile"): ("getProfile", self._profile),
            ("GET", "labels"): ("labels.list", self._labels_list),
            ("POST", "labels"): ("labels.create", self._labels_create),
            ("GET", "messages"): ("messages.list", self._messages_list),
            ("POST", "messages/batchModify"): ("messages.batchModify", self._batch_modify),
            ("GET", "history"): ("history.list", self._history_list),
        }
        if route in handlers:
            name, fn = handlers[route]
            return self._handle(name, request, fn)
        if route[0] == "GET" and route[1].startswith("messages/"):
            return self._handle("messages.get", request, self._messages_get)
        raise AssertionError(f"unexpected call {route}")

    def _handle(
        self, name: str, request: httpx.Request, fn: Callable[[httpx.Request], httpx.Response]
    ) -> httpx.Response:
        args = (
            json.loads(request.content) if request.content and name != "token" else dict(request.url.params)
        )
        if name == "messages.get":
            args["id"] = request.url.path.rsplit("/", 1)[1]
        self.calls.append((name, args))
        if name in self._before:
            self._before.pop(name)()
        if self._answers[name]:
            return self._answers[name].pop(0)
        return fn(request)

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        self.jwt_claims.append(
            google.auth.jwt.decode(form["assertion"], certs=PUBLIC_PEM, audience=TOKEN_URI)
        )
        return httpx.Response(
            200, json={"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}
        )

    def _profile(self, request: httpx.Request) -> httpx.Response:
        total = len(self.messages)
        return httpx.Response(
            200,
            json={
                "emailAddress": USER,
                "messagesTotal": total,
                "threadsTotal": total,
                "historyId": str(self.history_id),
            },
        )

    def _labels_list(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"labels": self.labels})

    def _labels_create(self, request: httpx.Request) -> httpx.Response:
        name = json.loads(request.content)["name"]
        if any(label["name"] == name for label in self.labels):
            return google_error(409, "duplicate", "Label name exists or conflicts", "ALREADY_EXISTS")
        label = {
            "id": f"Label_{len(self.labels) + 1}",
            "name": name,
            "messageListVisibility": "show",
            "labelListVisibility": "labelShow",
            "type": "user",
        }
        self.labels.append(label)
        return httpx.Response(200, json=label)

    def _page(
        self, items: list[Any], params: httpx.QueryParams, default: int
    ) -> tuple[list[Any], str | None]:
        # An offset as page token: the pessimistic kind, which shifts when the listing changes.
        start = int(params.get("pageToken", 0))
        size = min(int(params.get("maxResults", default)), self.max_page)
        end = start + size
        return items[start:end], (str(end) if end < len(items) else None)

    def _messages_list(self, request: httpx.Request) -> httpx.Response:
        wanted = request.url.params.get_list("labelIds")
        newest_first = [m for m in reversed(self.messages.values()) if all(x in m.labels for x in wanted)]
        page, token = self._page(newest_first, request.url.params, 100)
        body: dict[str, Any] = {"resultSizeEstimate": len(newest_first)}
        if page:  # Google leaves out empty lists
            body["messages"] = [{"id": m.id, "threadId": m.id} for m in page]
        if token:
            body["nextPageToken"] = token
        return httpx.Response(200, json=body)

    def _messages_get(self, request: httpx.Request) -> httpx.Response:
        assert request.url.params["format"] == "raw"
        stored = self.messages.get(request.url.path.rsplit("/", 1)[1])
        if stored is None:
            return google_error(404, "notFound", "Requested entity was not found.", "NOT_FOUND")
        raw = base64.urlsafe_b64encode(stored.raw).decode()
        return httpx.Response(
            200,
            json={
                "id": stored.id,
                "threadId": stored.id,
                "labelIds": stored.labels,
                "snippet": "Bonjour, la facture",
                "sizeEstimate": len(stored.raw),
                "historyId": str(stored.history_id),
                "internalDate": "1767225600000",
                "raw": raw if self.padded else raw.rstrip("="),
            },
        )

    def _batch_modify(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        for ref in body["ids"]:
            if ref in self.messages:
                self.relabel(ref, add=body.get("addLabelIds", []), remove=body.get("removeLabelIds", []))
        return httpx.Response(204)

    def _history_list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        start = int(params["startHistoryId"])
        if start < self.expired_before:
            return google_error(404, "notFound", "Requested entity was not found.", "NOT_FOUND")
        kinds = {"messageAdded": "messagesAdded", "messageDeleted": "messagesDeleted"}
        kinds |= {"labelAdded": "labelsAdded", "labelRemoved": "labelsRemoved"}
        wanted = [kinds[t] for t in params.get_list("historyTypes")] or list(kinds.values())
        label = params.get("labelId")

        def matches(record: dict[str, Any]) -> bool:
            entries = [e for kind in wanted for e in record.get(kind, [])]
            return any(label is None or label in e["message"].get("labelIds", []) for e in entries)

        records = [r for r in self.records if int(r["id"]) > start and matches(r)]
        page, token = self._page(records, params, 100)
        body: dict[str, Any] = {"historyId": str(self.history_id)}
        if page:
            body["history"] = page
        if token:
            body["nextPageToken"] = token
        return httpx.Response(200, json=body)


@pytest.fixture
def gmail() -> FakeGmail:
    return FakeGmail()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def open_reader(gmail: FakeGmail, sleeps: list[float]) -> Iterator[Callable[..., GmailMailboxReader]]:
    readers: list[GmailMailboxReader] = []

    def open_reader(**settings: Any) -> GmailMailboxReader:
        values = {"user": USER, "service_account_info": SERVICE_ACCOUNT, **settings}
        reader = GmailMailboxReader(
            GmailSettings(**values), transport=httpx.MockTransport(gmail), sleep=sleeps.append
        )
        readers.append(reader)
        return reader

    yield open_reader
    for reader in readers:
        reader.close()


@pytest.fixture
def reader(open_reader: Callable[..., GmailMailboxReader]) -> GmailMailboxReader:
    return open_reader()


def raws(batch: FetchBatch) -> list[bytes]:
    return [m.raw for m in batch.messages]


def poll(reader: GmailMailboxReader, cursor: dict[str, Any], limit: int) -> FetchBatch:
    """What the poller does with one batch: fetch, then acknowledge everything fetched."""
    batch = reader.fetch(cursor, limit=limit)
    reader.acknowledge([m.ref for m in batch.messages])
    return batch


def drain(
    reader: GmailMailboxReader, cursor: dict[str, Any], limit: int
) -> tuple[list[bytes], dict[str, Any]]:
    taken: list[bytes] = []
    for _ in range(20):  # a reader that never finishes fails here instead of hanging
        batch = poll(reader, cursor, limit)
        taken += raws(batch)
        cursor = batch.cursor
        if not batch.more:
            return taken, cursor
    raise AssertionError(f"still more to fetch after 20 batches; {len(taken)} messages taken")


# -- full sync -----------------------------------------------------------------------------------


def test_first_fetch_lists_the_label_newest_first_paging_up_to_the_limit(
    gmail: FakeGmail, reader: GmailMailboxReader
) -> None:
    sent = [message(n) for n in range(1, 6)]
    refs = [gmail.deliver(raw) for raw in sent]
    gmail.deliver(message(99), labels=["SENT"])  # not in the label read
    noted = str(gmail.history_id)
    gmail.max_page = 2  # Google may answer fewer than maxResults and a page token

    batch = reader.fetch({}, limit=3)

    assert [m.ref for m in batch.messages] == refs[:1:-1]
    assert raws(batch) == sent[:1:-1]
    assert batch.more is True
    assert batch.cursor == {"full_sync_since": noted}
    assert gmail.named("messages.list") == [
        {"labelIds": "INBOX", "maxResults": "3"},
        {"labelIds": "INBOX", "maxResults": "1", "pageToken": "2"},
    ]


def test_full_sync_takes_every_message_although_acknowledging_shifts_the_listing(
    gmail: FakeGmail, reader: GmailMailboxReader
) -> None:
    sent = [message(n) for n in range(1, 8)]
    for raw in sent:
        gmail.deliver(raw)
    noted = str(gmail.history_id)

    taken, cursor = drain(reader, {}, limit=2)

    # The fake's page tokens are offsets, as a positional token would be: a reader that kept the
    # page token across acknowledged batches would skip the messages that moved up.
    assert sorted(taken) == sorted(sent)
    assert len(taken) == len(sent)
    assert cursor == {"history_id": noted}
    assert gmail.inbox() == []
    assert len(gmail.named("getProfile")) == 1  # noted once, at the start of the listing


def test_mail_arriving_during_the_full_sync_comes_in_through_the_history(
    gmail: FakeGmail, reader: GmailMailboxReader
) -> None:
    gmail.deliver(message(1))
    late = message(2)
    # After the listing, before the download: the listing cannot see it, the history will.
    gmail.before("messages.get", lambda: gmail.deliver(late))

    first = poll(reader, {}, limit=10)
    second = poll(reader, first.cursor, limit=10)

    assert raws(first) == [message(1)]
    assert raws(second) == [late]
    assert gmail.inbox() == []


def test_an_empty_label_ends_the_full_sync_at_once(gmail: FakeGmail, reader: GmailMailboxReader) -> None:
    batch = reader.fetch({}, limit=5)

    assert batch.messages == []
    assert batch.more is False
    assert batch.cursor == {"history_id": str(gmail.history_id)}


# -- incremental sync ------------------------------------------------------------------------------


def test_later_fetches_take_only_messages_added_to_the_label(
    gmail: FakeGmail, reader: GmailMailboxReader
) -> None:
    old = gmail.deliver(message(1))
    _, cursor = drain(reader, {}, limit=10)
    listings = len(gmail.named("messages.list"))

    gmail.deliver(message(2))
    gmail.deliver(message(3), labels=["SENT"])  # the desk's own mail: not in the inbox
    gmail.relabel(old, add=["INBOX"])  # moved back by a person: a label change, not new mail
    doomed = gmail.deliver(message(4), labels=["STARRED"])
    gmail.delete(doomed)
    gmail.deliver(message(5))

    batch = reader.fetch(cursor, limit=10)

    assert raws(batch) == [message(2), message(5)]  # oldest first, as history runs
    assert batch.more is False
    assert batch.cursor == {"history_id": str(gmail.history_id)}
    assert gmail.named("history.list") == [
        {
            "startHistoryId": cursor["history_id"],
            "historyTypes": "messageAdded",
            "labelId": "INBOX",
            "maxResults": "500",
        }
    ]
    assert len(gmail.named("messages.list")) == listings


def test_history_records_of_other_kinds_are_ignored(gmail: FakeGmail, reader: GmailMailboxReader) -> None:
    for ref in ("18f3b0000000000a", "18f3b0000000000b", "18f3b0000000000c"):
        gmail.deliver(message(int(ref[-1], 16)), ref=ref)
    # A page shaped like the reference's: `messages` names every message a record touched.
    page = json.loads((DATA / "history_mixed_types.json").read_text())
    gmail.answer("history.list", httpx.Response(200, json=page))

    batch = reader.fetch({"history_id": "9100"}, limit=10)

    assert [m.ref for m in batch.messages] == ["18f3b0000000000b"]
    assert raws(batch) == [message(11)]
    assert [call["id"] for call in gmail.named("messages.get")] == ["18f3b0000000000b"]
    assert batch.cursor == {"history_id": "9110"}


def test_history_pages_and_stops_at_the_limit_after_a_whole_record(
    gmail: FakeGmail, reader: GmailMailboxReader
) -> None:
    _, cursor = drain(reader, {}, limit=10)
    sent = [message(n) for n in range(1, 6)]
    refs = [gmail.deliver(raw) for raw in sent]
    third_added = gmail.messages[refs[2]].history_id
    gmail.max_page = 2

    first = poll(reader, cursor, limit=3)
    second = reader.fetch(first.cursor, limit=3)

    assert raws(first) == sent[:3]
    assert first.more is True
    assert first.cursor == {"history_id": str(third_added)}
    assert [call.get("pageToken") for call in gmail.named("history.list")[:2]] == [None, "2"]
    assert raws(second) == sent[3:]
    assert second.more is False
    assert second.cursor == {"history_id": str(gmail.history_id)}


def test_an_expired_history_id_falls_back_to_a_full_sync(
    gmail: FakeGmail, reader: GmailMailboxReader
) -> None:
    gmail.deliver(message(1))
    gmail.deliver(message(2))
    gmail.expired_before = gmail.history_id

    batch = reader.fetch({"history_id": "9001"}, limit=10)

    assert raws(batch) == [message(2), message(1)]
    assert batch.cursor == {"history_id": str(gmail.history_id)}
    assert batch.more is False
    assert [name for name, _ in gmail.calls] == [
        "token",
        "labels.list",
        "history.list",
        "getProfile",
        "messages.list",
        "messages.get",
        "messages.get",
    ]


# -- downloading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("padded", [True, False], ids=["padded", "unpadded"])
def test_raw_messages_are_decoded_to_their_exact_bytes(
    gmail: FakeGmail, reader: GmailMailboxReader, padded: bool
) -> None:
    # Lengths 0, 1 and 2 modulo 3 need no, two and one padding characters; the 0xfb/0xff bytes
    # encode to the URL-safe `-` and `_`.
    sent = [message(1, b"\xfb\xff" * n + b"\x00\r\n") for n in range(3)]
    assert {len(raw) % 3 for raw in sent} == {0, 1, 2}
    for raw in sent:
        gmail.deliver(raw)
    gmail.padded = padded

    batch = reader.fetch({}, limit=10)

    assert raws(batch) == sent[::-1]


def test_decode_raw_accepts_url_safe_base64_with_or_without_padding() -> None:
    assert decode_raw("-_8") == b"\xfb\xff"
    assert decode_raw("-_8=") == b"\xfb\xff"
    assert decode_raw("YQ") == b"a"
    assert decode_raw("") == b""


def test_a_message_deleted_since_it_was_listed_is_skipped(
    gmail: FakeGmail, reader: GmailMailboxReader, sleeps: list[float]
) -> None:
    refs = [gmail.deliver(message(n)) for n in range(1, 4)]
    gmail.before("messages.get", lambda: gmail.delete(refs[1]))

    batch = poll(reader, {}, limit=10)

    assert [m.ref for m in batch.messages] == [refs[2], refs[0]]
    assert raws(batch) == [message(3), message(1)]
    assert sleeps == []
    assert gmail.inbox() == []


# -- acknowledging ---------------------------------------------------------------------------------


def test_acknowledge_labels_messages_processed_and_takes_them_out_of_the_label(
    gmail: FakeGmail, open_reader: Callable[..., GmailMailboxReader]
) -> None:
    reader = open_reader()
    refs = [gmail.deliver(message(n)) for n in range(1, 4)]
    reader.fetch({}, limit=10)

    reader.acknowledge(refs[:2])
    reader.acknowledge(refs[2:])
    open_reader().acknowledge(refs[2:])  # a later poll's reader, or a retry after a crash

    processed = gmail.label_id(PROCESSED)
    assert gmail.named("labels.create") == [{"name": PROCESSED}]
    assert gmail.named("messages.batchModify") == [
        {"ids": refs[:2], "addLabelIds": [processed], "removeLabelIds": ["INBOX"]},
        {"ids": refs[2:], "addLabelIds": [processed], "removeLabelIds": ["INBOX"]},
        {"ids": refs[2:], "addLabelIds": [processed], "removeLabelIds": ["INBOX"]},
    ]
    assert gmail.inbox() == []
    assert gmail.inbox(processed) == [message(1), message(2), message(3)]


def test_a_processed_label_created_meanwhile_by_someone_else_is_used(
    gmail: FakeGmail, reader: GmailMailboxReader
) -> None:
    ref = gmail.deliver(message(1))
    reader.fetch({}, limit=10)  # the labels are listed here, without the processed one
    gmail.labels.append({"id": "Label_77", "name": PROCESSED, "type": "user"})

    reader.acknowledge([ref])

    assert gmail.named("labels.create") == [{"name": PROCESSED}]  # answered 409
    assert gmail.inbox("Label_77") == [message(1)]
    assert gmail.inbox() == []


def test_a_user_label_is_read_and_acknowledged_by_its_id(
    gmail: FakeGmail, open_reader: Callable[..., GmailMailboxReader]
) -> None:
    reader = open_reader(label="Vendors")
    gmail.deliver(message(1))  # inbox only: not read
    ref = gmail.deliver(message(2), labels=["Label_1", "UNREAD"])

    batch = poll(reader, {}, limit=10)

    assert raws(batch) == [message(2)]
    assert gmail.named("messages.list")[0]["labelIds"] == "Label_1"
    assert gmail.messages[ref].labels == ["UNREAD", gmail.label_id(PROCESSED)]


def test_a_missing_label_makes_the_mailbox_unavailable(
    open_reader: Callable[..., GmailMailboxReader],
) -> None:
    with pytest.raises(MailboxUnavailable, match="'Support' does not exist"):
        open_reader(label="Support").fetch({}, limit=10)


def test_acknowledging_nothing_calls_nothing(gmail: FakeGmail, reader: GmailMailboxReader) -> None:
    reader.acknowledge([])

    assert gmail.calls == []


# -- quotas, failures and secrets ------------------------------------------------------------------


def test_rate_limits_are_retried_with_exponential_backoff(
    gmail: FakeGmail, reader: GmailMailboxReader, sleeps: list[float]
) -> None:
    gmail.deliver(message(1))
    gmail.answer(
        "messages.list",
        google_error(429, "rateLimitExceeded", "Too many concurrent requests for user", "RESOURCE_EXHAUSTED"),
        google_error(403, "userRateLimitExceeded", "User-rate limit exceeded", "PERMISSION_DENIED"),
        google_error(403, "rateLimitExceeded", "Rate Limit Exceeded", "PERMISSION_DENIED"),
    )

    batch = reader.fetch({}, limit=10)

    assert raws(batch) == [message(1)]
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(gmail.named("messages.list")) == 4


def test_a_persistent_server_error_makes_the_mailbox_unavailable_without_secrets(
    gmail: FakeGmail, open_reader: Callable[..., GmailMailboxReader], sleeps: list[float]
) -> None:
    reader = open_reader(max_retries=3)
    gmail.deliver(message(1, b"Confidential bank details: IBAN FR76 3000\r\n"))
    failure = google_error(500, "backendError", "Backend Error: trace 8f0e2c", "INTERNAL")
    gmail.answer("messages.get", *[failure] * 4)

    with pytest.raises(MailboxUnavailable) as caught:
        reader.fetch({}, limit=10)

    error = caught.value
    assert str(error) == f"Gmail messages.get for {USER} failed: HTTP 500 (backendError)"
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(gmail.named("messages.get")) == 4
    for secret in (ACCESS_TOKEN, KEY_LINE, "IBAN", "trace 8f0e2c"):
        assert secret not in str(error)
    assert error.__cause__ is None


def test_refused_errors_are_not_retried(
    gmail: FakeGmail, reader: GmailMailboxReader, sleeps: list[float]
) -> None:
    gmail.answer(
        "labels.list",
        google_error(403, "insufficientPermissions", "Request had insufficient scopes.", "PERMISSION_DENIED"),
    )

    with pytest.raises(GmailApiError) as caught:
        reader.fetch({}, limit=10)

    assert (caught.value.status, caught.value.reason) == (403, "insufficientPermissions")
    assert sleeps == []


def test_the_token_is_signed_for_the_mailbox_user_and_reused(
    gmail: FakeGmail, reader: GmailMailboxReader
) -> None:
    gmail.deliver(message(1))

    drain(reader, {}, limit=10)

    [claims] = gmail.jwt_claims
    assert claims["iss"] == SERVICE_ACCOUNT["client_email"]
    assert claims["sub"] == USER  # domain-wide delegation: the service account acts as the user
    assert claims["scope"] == GMAIL_SCOPE


def test_refused_delegation_makes_the_mailbox_unavailable_without_secrets(
    gmail: FakeGmail, reader: GmailMailboxReader
) -> None:
    gmail.answer(
        "token",
        httpx.Response(
            401,
            json={
                "error": "unauthorized_client",
                "error_description": "Client is unauthorized to retrieve access tokens using this method, "
                "or client not authorized for any of the scopes requested.",
            },
        ),
    )

    with pytest.raises(MailboxUnavailable) as caught:
        reader.fetch({}, limit=10)

    text = str(caught.value)
    assert "unauthorized_client" in text
    assert "domain-wide delegation" in text
    assert KEY_LINE not in text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True


@pytest.mark.parametrize("host", ["oauth2.googleapis.com", "gmail.googleapis.com"])
def test_network_failures_make_the_mailbox_unavailable(
    gmail: FakeGmail, open_reader: Callable[..., GmailMailboxReader], host: str
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        if request.url.host == host:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return gmail(request)

    reader = GmailMailboxReader(
        GmailSettings(user=USER, service_account_info=SERVICE_ACCOUNT),
        transport=httpx.MockTransport(unreachable),
    )
    with pytest.raises(MailboxUnavailable, match="ConnectError") as caught:
        reader.fetch({}, limit=10)
    reader.close()

    assert ACCESS_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "info",
    [
        {k: v for k, v in SERVICE_ACCOUNT.items() if k != "client_email"},
        {**SERVICE_ACCOUNT, "private_key": BROKEN_KEY},
        {},
    ],
    ids=["no-client-email", "broken-key", "empty"],
)
def test_unusable_service_account_info_makes_the_mailbox_unavailable(info: dict[str, str]) -> None:
    with pytest.raises(MailboxUnavailable, match="service account info is not usable") as caught:
        GmailMailboxReader(GmailSettings(user=USER, service_account_info=info))

    assert "c2VjcmV0" not in str(caught.value)
    assert KEY_LINE not in str(caught.value)


def test_settings_keep_the_key_out_of_repr_and_refuse_reading_the_processed_label() -> None:
    settings = GmailSettings(user=USER, service_account_info=SERVICE_ACCOUNT)
    assert KEY_LINE not in repr(settings)
    assert "intake@p2p.example" in repr(settings)
    with pytest.raises(ValueError, match="must differ"):
        GmailSettings(user=USER, label=PROCESSED)
