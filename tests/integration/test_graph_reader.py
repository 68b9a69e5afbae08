"""GraphMailboxReader against a fake Microsoft Graph and identity platform (respx, no network).

The fake answers with the payload shapes Microsoft's documentation shows (message delta pages,
`@removed` entries, 410 SyncStateNotFound, mailFolder, the v2.0 token endpoint). respx intercepts
every httpx request, msal's included (the reader hands msal its httpx client), and an unregistered
URL fails the test, so nothing can reach the internet. More specific routes are registered first:
a route without a query matches any query.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from p2pdesk.infrastructure.email.graph import GraphMailboxReader, GraphSettings
from p2pdesk.ports.mailboxes import MailboxUnavailable

TENANT = "0d5c3b1e-7c1a-4f43-9a51-2f6f1e0c8a11"
CLIENT = "6731de76-14a6-49ae-97bc-6eba6914391e"
SECRET = "Zx8Q~client-secret-value.that-must-never-leak"
ACCESS_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-graph-access-token.sig"
USER = "intake@contoso.example"

LOGIN = f"https://login.microsoftonline.com/{TENANT}"
TOKEN_URL = f"{LOGIN}/oauth2/v2.0/token"
GRAPH = "https://graph.microsoft.com/v1.0"
MAILBOX = f"{GRAPH}/users/{USER}"
DELTA = f"{MAILBOX}/mailFolders/inbox/messages/delta"
FIRST = f"{DELTA}?$select=id,internetMessageId,receivedDateTime"
# Links as Graph writes them: its own folder form and opaque tokens.
NEXT_1 = f"{GRAPH}/users/{USER}/mailFolders('inbox')/messages/delta?$skiptoken=GwcBoTmPuoTQWfcsAbkYM"
NEXT_2 = f"{GRAPH}/users/{USER}/mailFolders('inbox')/messages/delta?$skiptoken=Hx8CpUnQvpUR"
DELTA_1 = f"{GRAPH}/users/{USER}/mailFolders('inbox')/messages/delta?$deltatoken=LztZwWjo5IivWBhyxw5rA"
DELTA_2 = f"{GRAPH}/users/{USER}/mailFolders('inbox')/messages/delta?$deltatoken=MuuZ8Xkp6JjwXCizyx6sB"
PROCESSED_LOOKUP = f"{MAILBOX}/mailFolders?$filter=displayName eq 'Processed'"

# Immutable ids look like this: URL-safe base64, "-" and "_" included.
ID_A = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AGnUPtcQC-Eiwmc39SmMpPgAAA8ZAfgAA"
ID_B = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AGnUPtcQC-Eiwmc39SmMpPgAAA8ZAfhAA"
ID_C = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AGnUPtcQC-Eiwmc39SmMpPgAAA8ZAfiAA"
ID_D = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AGnUPtcQC-Eiwmc39SmMpPgAAA8ZAfjAA"
ID_GONE = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AGnUPtcQC-Eiwmc39SmMpPgAAA8Z_removed"
PROCESSED_ID = "AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OABGAAAAAAAiQ8W967B7TKBjgx9rVEURAQ"


def mime(n: int) -> bytes:
    """Raw RFC 5322 bytes as $value returns them: CRLF, 8-bit and trailing white space kept."""
    return (
        b"From: Vendor <ap@vendor.example>\r\n"
        b"To: intake@contoso.example\r\n"
        b"Subject: Invoice INV-%d not paid\r\n"
        b"Message-ID: <inv-%d@vendor.example>\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Bonjour, la facture n\xb0%d est en retard.  \r\n\r\n" % (n, n, n)
    )


def message(message_id: str, n: int) -> dict[str, object]:
    return {
        "@odata.type": "#microsoft.graph.message",
        "@odata.etag": 'W/"CQAAABYAAAB2ZxxJ/oLwS7f+Pz4n9gtGAAAAAAe3"',
        "id": message_id,
        "receivedDateTime": f"2026-03-0{n}T08:15:00Z",
        "internetMessageId": f"<inv-{n}@vendor.example>",
    }


def removed(message_id: str) -> dict[str, object]:
    return {"@odata.type": "#microsoft.graph.message", "id": message_id, "@removed": {"reason": "deleted"}}


def page(*items: dict[str, object], next_link: str | None = None, delta_link: str | None = None) -> dict:
    body: dict[str, object] = {"@odata.context": f"{GRAPH}/$metadata#Collection(message)"}
    if next_link:
        body["@odata.nextLink"] = next_link
    if delta_link:
        body["@odata.deltaLink"] = delta_link
    body["value"] = list(items)
    return body


def graph_error(status: int, code: str, text: str = "An internal server error occurred.") -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "error": {
                "code": code,
                "message": text,
                "innerError": {"date": "2026-03-02T08:15:00", "request-id": "8c4c1a52-6b1f-4d1e-9d0a"},
            }
        },
    )


def value(graph: respx.MockRouter, message_id: str, raw: bytes) -> respx.Route:
    return graph.get(f"{MAILBOX}/messages/{message_id}/$value").respond(
        200, content=raw, headers={"Content-Type": "text/plain"}
    )


def graph_calls(graph: respx.MockRouter) -> list[httpx.Request]:
    return [call.request for call in graph.calls if call.request.url.host == "graph.microsoft.com"]


def prefer(request: httpx.Request) -> list[str]:
    return [part.strip() for part in request.headers.get_list("Prefer", split_commas=True)]


@pytest.fixture
def graph() -> Iterator[respx.MockRouter]:
    """The fake: the tenant's OIDC metadata and token endpoint always; Graph routes per test."""
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{LOGIN}/v2.0/.well-known/openid-configuration").respond(
            json={
                "token_endpoint": TOKEN_URL,
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "jwks_uri": f"{LOGIN}/discovery/v2.0/keys",
                "issuer": f"{LOGIN}/v2.0",
                "authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize",
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "msgraph_host": "graph.microsoft.com",
            }
        )
        mock.post(TOKEN_URL, name="token").respond(
            json={
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": ACCESS_TOKEN,
            }
        )
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


def settings(**overrides: object) -> GraphSettings:
    values: dict[str, object] = {
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "user": USER,
        "processed_folder": "Processed",
    }
    values.update(overrides)
    return GraphSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def reader(graph: respx.MockRouter, sleeps: list[float]) -> Iterator[GraphMailboxReader]:
    reader = GraphMailboxReader(settings(), sleep=sleeps.append)
    yield reader
    reader.close()


# -- fetch ---------------------------------------------------------------------------------------


def test_first_fetch_follows_next_links_to_the_delta_link_and_returns_the_raw_mime(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    graph.get(NEXT_1).respond(json=page(message(ID_C, 3), delta_link=DELTA_1))
    graph.get(FIRST).respond(json=page(message(ID_A, 1), message(ID_B, 2), next_link=NEXT_1))
    for n, message_id in enumerate((ID_A, ID_B, ID_C), start=1):
        value(graph, message_id, mime(n))

    batch = reader.fetch({}, limit=10)

    assert [m.ref for m in batch.messages] == [ID_A, ID_B, ID_C]
    assert [m.raw for m in batch.messages] == [mime(1), mime(2), mime(3)]
    assert batch.cursor == {"delta_link": DELTA_1}
    assert batch.more is False


def test_raw_bytes_come_back_exactly_however_large(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    # Binary noise past the headers, larger than one read chunk: nothing decoded or re-encoded.
    raw = mime(1) + bytes(range(256)) * 4096 + b"\r\n.\r\n\x00\xff"
    graph.get(FIRST).respond(json=page(message(ID_A, 1), delta_link=DELTA_1))
    value(graph, ID_A, raw)

    batch = reader.fetch({}, limit=10)

    assert batch.messages[0].raw == raw


def test_removed_entries_are_skipped(graph: respx.MockRouter, reader: GraphMailboxReader) -> None:
    # No $value route for ID_GONE: reading it would fail the test (respx refuses unknown URLs).
    graph.get(FIRST).respond(json=page(removed(ID_GONE), message(ID_A, 1), delta_link=DELTA_1))
    value(graph, ID_A, mime(1))

    batch = reader.fetch({}, limit=10)

    assert [m.ref for m in batch.messages] == [ID_A]
    assert not [r for r in graph_calls(graph) if ID_GONE in str(r.url)]


def test_a_message_deleted_before_its_download_is_skipped(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    graph.get(FIRST).respond(json=page(message(ID_A, 1), message(ID_B, 2), delta_link=DELTA_1))
    graph.get(f"{MAILBOX}/messages/{ID_A}/$value").mock(
        return_value=graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    )
    value(graph, ID_B, mime(2))

    batch = reader.fetch({}, limit=10)

    assert [m.ref for m in batch.messages] == [ID_B]
    assert batch.cursor == {"delta_link": DELTA_1}


def test_the_limit_stops_at_a_next_link_that_the_next_fetch_resumes(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    graph.get(NEXT_2).respond(json=page(message(ID_D, 4), delta_link=DELTA_1))
    graph.get(NEXT_1).respond(json=page(message(ID_C, 3), next_link=NEXT_2))
    first = graph.get(FIRST).respond(json=page(message(ID_A, 1), message(ID_B, 2), next_link=NEXT_1))
    for n, message_id in enumerate((ID_A, ID_B, ID_C, ID_D), start=1):
        value(graph, message_id, mime(n))

    batch = reader.fetch({}, limit=3)

    assert [m.ref for m in batch.messages] == [ID_A, ID_B, ID_C]
    assert batch.cursor == {"next_link": NEXT_2}
    assert batch.more is True

    rest = reader.fetch(batch.cursor, limit=3)

    assert [m.ref for m in rest.messages] == [ID_D]
    assert rest.cursor == {"delta_link": DELTA_1}
    assert rest.more is False
    assert first.call_count == 1
    # Each page asks for no more than the batch still has room for.
    sizes = [p for r in graph_calls(graph) if "/delta" in r.url.path for p in prefer(r) if "maxpagesize" in p]
    assert sizes == ["odata.maxpagesize=3", "odata.maxpagesize=1", "odata.maxpagesize=3"]


def test_resuming_from_the_delta_link_returns_only_new_messages(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    first = graph.get(FIRST).respond(json=page(message(ID_A, 1), delta_link=DELTA_1))
    graph.get(DELTA_1).respond(json=page(message(ID_B, 2), delta_link=DELTA_2))
    value(graph, ID_B, mime(2))

    batch = reader.fetch({"delta_link": DELTA_1}, limit=10)

    assert [(m.ref, m.raw) for m in batch.messages] == [(ID_B, mime(2))]
    assert batch.cursor == {"delta_link": DELTA_2}
    assert first.call_count == 0


def test_a_quiet_folder_returns_nothing_and_a_fresh_delta_link(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    graph.get(DELTA_1).respond(json=page(delta_link=DELTA_2))

    batch = reader.fetch({"delta_link": DELTA_1}, limit=10)

    assert batch.messages == []
    assert batch.cursor == {"delta_link": DELTA_2}
    assert batch.more is False


@pytest.mark.parametrize(
    ("status", "code"), [(410, "SyncStateNotFound"), (410, "resyncRequired"), (400, "syncStateNotFound")]
)
def test_a_lost_sync_state_restarts_with_a_full_delta(
    graph: respx.MockRouter, reader: GraphMailboxReader, status: int, code: str
) -> None:
    expired = graph.get(DELTA_1).mock(return_value=graph_error(status, code, "The sync state was not found."))
    first = graph.get(FIRST).respond(json=page(message(ID_A, 1), message(ID_B, 2), delta_link=DELTA_2))
    value(graph, ID_A, mime(1))
    value(graph, ID_B, mime(2))

    batch = reader.fetch({"delta_link": DELTA_1}, limit=10)

    assert expired.call_count == 1
    assert first.call_count == 1
    assert [m.ref for m in batch.messages] == [ID_A, ID_B]  # intake drops what it already has
    assert batch.cursor == {"delta_link": DELTA_2}


def test_an_expired_next_link_restarts_too(graph: respx.MockRouter, reader: GraphMailboxReader) -> None:
    graph.get(NEXT_1).mock(return_value=graph_error(410, "SyncStateNotFound"))
    graph.get(FIRST).respond(json=page(message(ID_A, 1), delta_link=DELTA_2))
    value(graph, ID_A, mime(1))

    batch = reader.fetch({"next_link": NEXT_1}, limit=10)

    assert [m.ref for m in batch.messages] == [ID_A]
    assert batch.cursor == {"delta_link": DELTA_2}


def test_a_refused_full_delta_is_unavailable_not_a_loop(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    first = graph.get(FIRST).mock(return_value=graph_error(410, "SyncStateNotFound"))

    with pytest.raises(MailboxUnavailable, match="delta"):
        reader.fetch({}, limit=10)
    assert first.call_count == 1


def test_a_cursor_for_another_host_is_ignored_and_its_host_never_contacted(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    foreign = graph.get(url__startswith="https://graph.evil.example/").respond(json=page(delta_link=DELTA_2))
    graph.get(FIRST).respond(json=page(delta_link=DELTA_1))

    batch = reader.fetch({"delta_link": "https://graph.evil.example/v1.0/steal?$deltatoken=x"}, limit=10)

    assert foreign.call_count == 0
    assert batch.cursor == {"delta_link": DELTA_1}


def test_a_next_link_to_another_host_is_not_followed(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    foreign = graph.get(url__startswith="https://graph.evil.example/").respond(json=page(delta_link=DELTA_2))
    graph.get(FIRST).respond(json=page(next_link="https://graph.evil.example/v1.0/delta?$skiptoken=x"))

    with pytest.raises(MailboxUnavailable):
        reader.fetch({}, limit=10)
    assert foreign.call_count == 0


# -- acknowledge ---------------------------------------------------------------------------------


def test_acknowledge_creates_the_missing_processed_folder_moves_there_and_tolerates_404(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    lookup = graph.get(PROCESSED_LOOKUP).respond(
        json={"@odata.context": f"{GRAPH}/$metadata#users('{USER}')/mailFolders", "value": []}
    )
    create = graph.post(f"{MAILBOX}/mailFolders").respond(
        201,
        json={
            "@odata.context": f"{GRAPH}/$metadata#users('{USER}')/mailFolders/$entity",
            "id": PROCESSED_ID,
            "displayName": "Processed",
            "parentFolderId": "AQMkADYAAAIBCAAAAA==",
            "childFolderCount": 0,
            "unreadItemCount": 0,
            "totalItemCount": 0,
            "isHidden": False,
        },
    )
    move_a = graph.post(f"{MAILBOX}/messages/{ID_A}/move").respond(201, json=message(ID_A, 1))
    move_gone = graph.post(f"{MAILBOX}/messages/{ID_GONE}/move").mock(
        return_value=graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    )
    move_b = graph.post(f"{MAILBOX}/messages/{ID_B}/move").respond(201, json=message(ID_B, 2))

    reader.acknowledge([ID_A, ID_GONE])
    reader.acknowledge([ID_B])

    assert create.call_count == 1
    assert json.loads(create.calls[0].request.content) == {"displayName": "Processed"}
    assert lookup.call_count == 1  # resolved once per reader
    for route in (move_a, move_gone, move_b):
        assert route.call_count == 1
        assert json.loads(route.calls[0].request.content) == {"destinationId": PROCESSED_ID}


def test_acknowledge_uses_an_existing_folder_found_by_its_quoted_display_name(
    graph: respx.MockRouter, sleeps: list[float]
) -> None:
    graph.get(f"{MAILBOX}/mailFolders?$filter=displayName eq 'Bob''s done'").respond(
        json={"value": [{"id": PROCESSED_ID, "displayName": "Bob's done"}]}
    )
    create = graph.post(f"{MAILBOX}/mailFolders").respond(500)
    move = graph.post(f"{MAILBOX}/messages/{ID_A}/move").respond(201, json=message(ID_A, 1))
    reader = GraphMailboxReader(settings(processed_folder="Bob's done"), sleep=sleeps.append)

    reader.acknowledge([ID_A])
    reader.close()

    assert create.call_count == 0
    assert json.loads(move.calls[0].request.content) == {"destinationId": PROCESSED_ID}


def test_acknowledging_nothing_sends_nothing(graph: respx.MockRouter, reader: GraphMailboxReader) -> None:
    reader.acknowledge([])

    assert graph.calls.call_count == 0


def test_a_failed_move_is_unavailable(graph: respx.MockRouter, reader: GraphMailboxReader) -> None:
    graph.get(PROCESSED_LOOKUP).respond(json={"value": [{"id": PROCESSED_ID, "displayName": "Processed"}]})
    graph.post(f"{MAILBOX}/messages/{ID_A}/move").mock(
        return_value=graph_error(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )
    )

    with pytest.raises(MailboxUnavailable, match="HTTP 403 ErrorAccessDenied"):
        reader.acknowledge([ID_A])


# -- throttling and failures -------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_waits_exactly_retry_after_then_succeeds(
    graph: respx.MockRouter, reader: GraphMailboxReader, sleeps: list[float], status: int
) -> None:
    throttled = httpx.Response(
        status,
        headers={"Retry-After": "7"},
        json={
            "error": {
                "code": "ApplicationThrottled",
                "message": "Application is over its MailboxConcurrency limit.",
            }
        },
    )
    delta = graph.get(FIRST).mock(
        side_effect=[throttled, httpx.Response(200, json=page(message(ID_A, 1), delta_link=DELTA_1))]
    )
    download = graph.get(f"{MAILBOX}/messages/{ID_A}/$value").mock(
        side_effect=[
            httpx.Response(status, headers={"Retry-After": "3"}),
            httpx.Response(200, content=mime(1)),
        ]
    )

    batch = reader.fetch({}, limit=10)

    assert sleeps == [7, 3]
    assert delta.call_count == 2
    assert download.call_count == 2
    assert [m.raw for m in batch.messages] == [mime(1)]


def test_throttling_gives_up_after_max_retries(graph: respx.MockRouter, sleeps: list[float]) -> None:
    throttled = graph.get(FIRST).respond(429, headers={"Retry-After": "1"})
    reader = GraphMailboxReader(settings(max_retries=2), sleep=sleeps.append)

    with pytest.raises(MailboxUnavailable, match="throttled"):
        reader.fetch({}, limit=10)
    reader.close()

    assert sleeps == [1, 1]
    assert throttled.call_count == 3


def test_a_retry_after_too_long_to_wait_ends_the_poll_at_once(
    graph: respx.MockRouter, reader: GraphMailboxReader, sleeps: list[float]
) -> None:
    graph.get(FIRST).respond(429, headers={"Retry-After": "3600"})

    with pytest.raises(MailboxUnavailable, match="throttled"):
        reader.fetch({}, limit=10)
    assert sleeps == []


def test_a_persistent_server_error_is_unavailable_and_leaks_nothing(
    graph: respx.MockRouter, reader: GraphMailboxReader, sleeps: list[float]
) -> None:
    failing = graph.get(FIRST).mock(
        return_value=graph_error(500, "generalException", f"boom while reading {SECRET} {ACCESS_TOKEN}")
    )

    with pytest.raises(MailboxUnavailable) as caught:
        reader.fetch({}, limit=10)

    text = str(caught.value)
    assert "HTTP 500 generalException" in text
    assert SECRET not in text
    assert ACCESS_TOKEN not in text
    assert "boom" not in text
    assert sleeps == []  # only 429 and 503 are retried
    assert failing.call_count == 1


def test_a_transport_error_is_unavailable(graph: respx.MockRouter, reader: GraphMailboxReader) -> None:
    graph.get(FIRST).mock(side_effect=httpx.ConnectTimeout("timed out"))

    with pytest.raises(MailboxUnavailable, match="ConnectTimeout"):
        reader.fetch({}, limit=10)


# -- headers and credentials -----------------------------------------------------------------------


def test_every_graph_request_prefers_immutable_ids_and_carries_the_bearer_token(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    graph.get(NEXT_1).respond(json=page(message(ID_B, 2), delta_link=DELTA_1))
    graph.get(FIRST).respond(json=page(message(ID_A, 1), next_link=NEXT_1))
    value(graph, ID_A, mime(1))
    value(graph, ID_B, mime(2))
    graph.get(PROCESSED_LOOKUP).respond(json={"value": []})
    graph.post(f"{MAILBOX}/mailFolders").respond(201, json={"id": PROCESSED_ID, "displayName": "Processed"})
    graph.post(url__regex=rf"^{MAILBOX}/messages/[^/]+/move$").respond(201, json={})

    batch = reader.fetch({}, limit=10)
    reader.acknowledge([m.ref for m in batch.messages])

    requests = graph_calls(graph)
    assert len(requests) == 2 + 2 + 2 + 2  # delta pages, downloads, folder lookup + creation, moves
    for request in requests:
        assert 'IdType="ImmutableId"' in prefer(request), request.url
        assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
        if "/delta" in request.url.path:
            assert [p for p in prefer(request) if p.startswith("odata.maxpagesize=")], request.url


def test_the_token_comes_from_msal_client_credentials_once(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    graph.get(FIRST).respond(json=page(delta_link=DELTA_1))
    graph.get(DELTA_1).respond(json=page(delta_link=DELTA_2))

    reader.fetch({}, limit=10)
    reader.fetch({"delta_link": DELTA_1}, limit=10)

    token = graph.routes["token"]
    assert token.call_count == 1  # msal's cache serves the second fetch
    form = parse_qs(token.calls[0].request.content.decode())
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_id"] == [CLIENT]
    assert form["client_secret"] == [SECRET]
    assert form["scope"] == ["https://graph.microsoft.com/.default"]


def test_refused_credentials_are_unavailable_without_the_secret(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    graph.routes["token"].respond(
        401,
        json={
            "error": "invalid_client",
            "error_description": f"AADSTS7000215: Invalid client secret provided ({SECRET}). Trace ID: 1b2c",
            "error_codes": [7000215],
            "timestamp": "2026-03-02 08:15:00Z",
            "trace_id": "1b2c",
            "correlation_id": "3d4e",
        },
    )
    delta = graph.get(FIRST).respond(json=page(delta_link=DELTA_1))

    with pytest.raises(MailboxUnavailable) as caught:
        reader.fetch({}, limit=10)

    assert "invalid_client AADSTS7000215" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert delta.call_count == 0


def test_an_unreachable_identity_platform_is_unavailable(
    graph: respx.MockRouter, reader: GraphMailboxReader
) -> None:
    graph.routes["token"].mock(side_effect=httpx.ConnectError("connection refused"))

    with pytest.raises(MailboxUnavailable, match=f"token for tenant {TENANT}"):
        reader.fetch({}, limit=10)


def test_settings_hide_the_secret_from_repr() -> None:
    assert SECRET not in repr(settings())
