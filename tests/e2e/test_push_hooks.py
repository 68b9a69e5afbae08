"""Push hooks over HTTP: Graph's handshake, notifications and lifecycle events; Gmail's Pub/Sub push.

All the way down with no network: hook -> use case -> Celery task (in process: the tests have no
broker) -> poll -> the Graph reader against respx, the Gmail reader against FakeGmail. Pub/Sub's
tokens are signed with a local key whose certificate a real HTTP server on 127.0.0.1 serves.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import respx
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from p2pdesk import bootstrap
from p2pdesk.infrastructure.persistence.models import MailboxSubscriptionRecord, TicketRecord
from p2pdesk.infrastructure.tasks.mail import renew_push_subscriptions_task
from tests.fakes.google_oidc import AUDIENCE, PUSH_ACCOUNT, FakeGoogleIssuer
from tests.integration.test_gmail_reader import SERVICE_ACCOUNT
from tests.integration.test_gmail_reader import USER as GMAIL_USER
from tests.integration.test_gmail_reader import message as gmail_message
from tests.integration.test_graph_reader import (
    ACCESS_TOKEN,
    CLIENT,
    DELTA_1,
    FIRST,
    GRAPH,
    ID_A,
    LOGIN,
    MAILBOX,
    PROCESSED_ID,
    PROCESSED_LOOKUP,
    SECRET,
    TENANT,
    TOKEN_URL,
    USER,
    graph_error,
    message,
    mime,
    page,
)
from tests.integration.test_push_subscriptions import TOPIC, WatchedGmail, graph_subscription

SUBSCRIPTIONS = f"{GRAPH}/subscriptions"
SUB_1 = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
SUB_2 = "9a4b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
VALIDATION = "Validation: Testing client application reachability for subscription Request-Id: 8c4c1a52-6b1f"


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()  # providers have no desk credentials


@pytest.fixture
def desk_settings(settings: Any, tmp_path: Path) -> Iterator[Any]:
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    settings.P2PDESK_PUBLIC_URL = "https://desk.example/"
    bootstrap.desk.cache_clear()  # the desk reads its settings when it is built
    yield settings
    bootstrap.desk.cache_clear()


@pytest.fixture
def providers() -> Iterator[respx.MockRouter]:
    """Microsoft's identity platform and Graph, Google's APIs: routes per test; loopback passes."""
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        mock.get(f"{LOGIN}/v2.0/.well-known/openid-configuration").respond(
            json={
                "token_endpoint": TOKEN_URL,
                "issuer": f"{LOGIN}/v2.0",
                "jwks_uri": f"{LOGIN}/discovery/v2.0/keys",
                "authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize",
            }
        )
        mock.post(TOKEN_URL).respond(
            json={"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS_TOKEN}
        )
        yield mock


def counted(provider: str, outcome: str) -> float:
    labels = {"provider": provider, "outcome": outcome}
    return REGISTRY.get_sample_value("p2pdesk_push_notifications_total", labels) or 0.0


# -- Microsoft Graph -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/hooks/graph/", "/hooks/graph/lifecycle/"])
@pytest.mark.parametrize("method", ["post", "get"])
def test_the_validation_handshake_answers_the_decoded_token_as_plain_text(
    anonymous: APIClient, path: str, method: str
) -> None:
    url = f"{path}?validationToken={quote(VALIDATION)}"
    response = anonymous.post(url, b"", content_type="text/plain") if method == "post" else anonymous.get(url)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == VALIDATION


def test_a_get_without_a_validation_token_is_not_allowed(anonymous: APIClient) -> None:
    response = anonymous.get("/hooks/graph/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.fixture
def graph_mailbox(
    admin: APIClient,
    make_team: Callable[..., dict[str, Any]],
    desk_settings: Any,
    providers: respx.MockRouter,
) -> dict[str, Any]:
    """Mailbox `ap` on Graph, subscribed by the hourly renewal task; its clientState as sent to Graph."""
    body = {
        "name": "ap",
        "kind": "graph",
        "settings": {"tenant_id": TENANT, "client_id": CLIENT, "user": USER, "folder": "inbox"},
        "secret": SECRET,
        "default_team": make_team()["id"],
    }
    created = admin.post("/api/v1/mailboxes/", body, format="json")
    assert created.status_code == 201, created.content
    subscribe = providers.post(SUBSCRIPTIONS).respond(201, json=graph_subscription(id=SUB_1))

    assert renew_push_subscriptions_task.delay().get() == {"ap": "created"}

    sent = json.loads(subscribe.calls.last.request.content)
    assert sent["notificationUrl"] == "https://desk.example/hooks/graph/"
    assert sent["lifecycleNotificationUrl"] == "https://desk.example/hooks/graph/lifecycle/"
    assert sent["resource"] == f"users/{USER}/mailFolders('inbox')/messages"
    expires = datetime.fromisoformat(sent["expirationDateTime"])
    assert timedelta(days=2, hours=23) < expires - datetime.now(UTC) <= timedelta(days=3)
    return {"id": created.json()["id"], "client_state": sent["clientState"]}


def notification(client_state: str, subscription: str = SUB_1, **extra: Any) -> dict[str, Any]:
    """A change notification as Graph posts it (without resource data)."""
    return {
        "subscriptionId": subscription,
        "subscriptionExpirationDateTime": "2026-11-23T08:59:00.9356913+00:00",
        "changeType": "created",
        "resource": "Users/6f1c3b1e-7c1a-4f43/Messages/" + ID_A,
        "resourceData": {"@odata.type": "#Microsoft.Graph.Message", "id": ID_A},
        "clientState": client_state,
        "tenantId": TENANT,
        **extra,
    }


def empty_delta(providers: respx.MockRouter) -> respx.Route:
    return providers.get(FIRST).respond(json=page(delta_link=DELTA_1))


def test_a_notification_gets_the_new_mail_in_through_one_poll(
    anonymous: APIClient, graph_mailbox: dict[str, Any], providers: respx.MockRouter
) -> None:
    delta = providers.get(FIRST).respond(json=page(message(ID_A, 1), delta_link=DELTA_1))
    providers.get(f"{MAILBOX}/messages/{ID_A}/$value").respond(200, content=mime(1))
    providers.get(PROCESSED_LOOKUP).respond(
        json={"value": [{"id": PROCESSED_ID, "displayName": "Processed"}]}
    )
    move = providers.post(f"{MAILBOX}/messages/{ID_A}/move").respond(201, json=message(ID_A, 1))
    state = graph_mailbox["client_state"]

    started = time.monotonic()
    response = anonymous.post("/hooks/graph/", {"value": [notification(state)] * 3}, format="json")

    assert response.status_code == 202, response.content
    assert time.monotonic() - started < 3  # Graph wants its answer within 3 s
    assert delta.call_count == 1  # three notifications for one mailbox: one poll
    assert move.call_count == 1
    assert TicketRecord.objects.filter(source="email", subject="Invoice INV-1 not paid").count() == 1


def test_notifications_with_a_wrong_client_state_are_refused_and_counted(
    anonymous: APIClient,
    graph_mailbox: dict[str, Any],
    providers: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    delta = empty_delta(providers)
    state = graph_mailbox["client_state"]
    before = counted("graph", "bad_client_state"), counted("graph", "unknown_subscription")

    with django_capture_on_commit_callbacks(execute=True):
        response = anonymous.post(
            "/hooks/graph/",
            {"value": [notification(state[:-1] + "x"), notification(state, subscription=SUB_2)]},
            format="json",
        )

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert delta.call_count == 0
    assert counted("graph", "bad_client_state") == before[0] + 1
    assert counted("graph", "unknown_subscription") == before[1] + 1
    assert "p2pdesk_push_notifications_total" in anonymous.get("/metrics").content.decode()


def test_a_batch_with_one_valid_notification_is_taken(
    anonymous: APIClient, graph_mailbox: dict[str, Any], providers: respx.MockRouter
) -> None:
    delta = empty_delta(providers)
    batch = [notification("guessed"), notification(graph_mailbox["client_state"])]

    response = anonymous.post("/hooks/graph/", {"value": batch}, format="json")

    assert response.status_code == 202
    assert response.json() == {"outcomes": {"bad_client_state": 1, "accepted": 1}}
    assert delta.call_count == 1


def test_a_body_that_is_not_a_notification_batch_is_a_bad_request(
    anonymous: APIClient, graph_mailbox: dict[str, Any]
) -> None:
    broken = anonymous.post("/hooks/graph/", b"{not json", content_type="application/json")
    assert broken.status_code == 400
    assert broken.json()["code"] == "malformed_json"
    assert anonymous.post("/hooks/graph/", {"values": []}, format="json").status_code == 400


def test_reauthorization_required_renews_the_subscription(
    anonymous: APIClient, graph_mailbox: dict[str, Any], providers: respx.MockRouter
) -> None:
    later = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    patch = providers.patch(f"{SUBSCRIPTIONS}/{SUB_1}").respond(
        json=graph_subscription(id=SUB_1, expirationDateTime=later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    )
    event = notification(graph_mailbox["client_state"], lifecycleEvent="reauthorizationRequired")

    response = anonymous.post("/hooks/graph/lifecycle/", {"value": [event]}, format="json")

    assert response.status_code == 202
    assert patch.call_count == 1
    stored = MailboxSubscriptionRecord.objects.get(mailbox_id=graph_mailbox["id"])
    assert stored.expires_at == later
    assert stored.client_state == graph_mailbox["client_state"]


def test_subscription_removed_makes_a_new_subscription_then_polls(
    anonymous: APIClient, graph_mailbox: dict[str, Any], providers: respx.MockRouter
) -> None:
    delete = providers.delete(f"{SUBSCRIPTIONS}/{SUB_1}").mock(
        return_value=graph_error(404, "ResourceNotFound")
    )
    create = providers.post(SUBSCRIPTIONS).respond(201, json=graph_subscription(id=SUB_2))
    create.reset()  # the same route as the fixture's: count from here
    delta = empty_delta(providers)
    event = notification(graph_mailbox["client_state"], lifecycleEvent="subscriptionRemoved")

    response = anonymous.post("/hooks/graph/lifecycle/", {"value": [event]}, format="json")

    assert response.status_code == 202
    assert delete.call_count == 1
    assert create.call_count == 1
    assert delta.call_count == 1
    stored = MailboxSubscriptionRecord.objects.get(mailbox_id=graph_mailbox["id"])
    assert stored.external_id == SUB_2
    assert stored.client_state == json.loads(create.calls.last.request.content)["clientState"]
    assert stored.client_state != graph_mailbox["client_state"]
    # The old subscription's secret no longer opens anything.
    stale = anonymous.post(
        "/hooks/graph/", {"value": [notification(graph_mailbox["client_state"])]}, format="json"
    )
    assert stale.status_code == 403


def test_missed_notifications_make_a_poll(
    anonymous: APIClient, graph_mailbox: dict[str, Any], providers: respx.MockRouter
) -> None:
    delta = empty_delta(providers)
    event = notification(graph_mailbox["client_state"], lifecycleEvent="missed")

    assert anonymous.post("/hooks/graph/lifecycle/", {"value": [event]}, format="json").status_code == 202
    assert delta.call_count == 1


def test_without_a_public_url_push_is_off_and_nothing_is_subscribed(
    admin: APIClient,
    make_team: Callable[..., dict[str, Any]],
    desk_settings: Any,
    providers: respx.MockRouter,
) -> None:
    desk_settings.P2PDESK_PUBLIC_URL = ""
    bootstrap.desk.cache_clear()
    body = {
        "name": "ap",
        "kind": "graph",
        "settings": {"tenant_id": TENANT, "client_id": CLIENT, "user": USER, "folder": "inbox"},
        "secret": SECRET,
        "default_team": make_team()["id"],
    }
    assert admin.post("/api/v1/mailboxes/", body, format="json").status_code == 201
    subscribe = providers.post(SUBSCRIPTIONS).respond(201, json=graph_subscription())

    assert renew_push_subscriptions_task.delay().get() == {}
    assert subscribe.call_count == 0
    assert not MailboxSubscriptionRecord.objects.exists()


# -- Gmail through Pub/Sub -------------------------------------------------------------------------


@pytest.fixture
def issuer() -> FakeGoogleIssuer:
    return FakeGoogleIssuer()


@pytest.fixture
def gmail(providers: respx.MockRouter) -> WatchedGmail:
    fake = WatchedGmail()
    providers.route(host="gmail.googleapis.com").mock(side_effect=fake)
    providers.route(host="oauth2.googleapis.com").mock(side_effect=fake)
    return fake


@pytest.fixture
def gmail_mailbox(
    admin: APIClient,
    make_team: Callable[..., dict[str, Any]],
    desk_settings: Any,
    issuer: FakeGoogleIssuer,
    gmail: WatchedGmail,
) -> Iterator[dict[str, Any]]:
    with issuer.serve() as certs_url:
        desk_settings.P2PDESK_GMAIL_PUSH_AUDIENCE = AUDIENCE
        desk_settings.P2PDESK_GMAIL_PUSH_SERVICE_ACCOUNT = PUSH_ACCOUNT
        desk_settings.P2PDESK_GOOGLE_CERTS_URL = certs_url
        bootstrap.desk.cache_clear()
        body = {
            "name": "vendors",
            "kind": "gmail",
            "settings": {"user": GMAIL_USER, "label": "INBOX", "topic": TOPIC},
            "secret": json.dumps(SERVICE_ACCOUNT),
            "default_team": make_team()["id"],
        }
        created = admin.post("/api/v1/mailboxes/", body, format="json")
        assert created.status_code == 201, created.content
        yield created.json()


def push(address: str = GMAIL_USER, history_id: int = 9001) -> dict[str, Any]:
    """A Pub/Sub push request body carrying a Gmail notification."""
    data = json.dumps({"emailAddress": address, "historyId": history_id}).encode()
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "messageId": "2070443601311540",
            "message_id": "2070443601311540",
            "publishTime": "2026-11-20T09:00:00.123Z",
            "publish_time": "2026-11-20T09:00:00.123Z",
        },
        "subscription": "projects/p2pdesk-test/subscriptions/gmail-push",
    }


def post_push(client: APIClient, token: str | None, body: Any = None, scheme: str = "Bearer") -> Any:
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {token}"} if token is not None else {}
    return client.post("/hooks/gmail/", body if body is not None else push(), format="json", **headers)


def test_the_renewal_task_watches_the_gmail_label(gmail_mailbox: dict[str, Any], gmail: WatchedGmail) -> None:
    assert renew_push_subscriptions_task.delay().get() == {"vendors": "created"}
    assert gmail.watching == {"topicName": TOPIC, "labelIds": ["INBOX"], "labelFilterBehavior": "INCLUDE"}
    stored = MailboxSubscriptionRecord.objects.get(mailbox_id=gmail_mailbox["id"])
    assert (stored.provider, stored.external_id) == ("gmail", GMAIL_USER)


def test_a_verified_push_gets_the_new_mail_in_and_a_redelivery_changes_nothing(
    anonymous: APIClient, gmail_mailbox: dict[str, Any], gmail: WatchedGmail, issuer: FakeGoogleIssuer
) -> None:
    gmail.deliver(gmail_message(1))

    first = post_push(anonymous, issuer.token())
    again = post_push(anonymous, issuer.token())  # Pub/Sub redelivers

    assert (first.status_code, again.status_code) == (204, 204)
    assert TicketRecord.objects.filter(source="email").count() == 1
    assert len(gmail.named("getProfile")) == 1  # the second poll went on from the stored history id
    assert len(gmail.named("history.list")) == 1


def bad_tokens(issuer: FakeGoogleIssuer) -> dict[str, str | None]:
    now = int(time.time())
    return {
        "wrong audience": issuer.token(aud="https://desk.example/hooks/graph/"),
        "wrong email": issuer.token(email="intruder@p2pdesk-test.iam.gserviceaccount.com"),
        "unverified email": issuer.token(email_verified=False),
        "expired": issuer.token(iat=now - 7200, exp=now - 3600),
        "unsigned": issuer.unsigned_token(),
        "another key": issuer.token(key_pem=FakeGoogleIssuer().private_pem),
        "no header": None,
    }


@pytest.mark.parametrize(
    "case",
    ["wrong audience", "wrong email", "unverified email", "expired", "unsigned", "another key", "no header"],
)
def test_a_push_without_a_valid_pubsub_token_is_refused(
    anonymous: APIClient,
    gmail_mailbox: dict[str, Any],
    gmail: WatchedGmail,
    issuer: FakeGoogleIssuer,
    case: str,
) -> None:
    gmail.deliver(gmail_message(1))

    response = post_push(anonymous, bad_tokens(issuer)[case])

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert gmail.calls == []  # nothing was polled
    assert not TicketRecord.objects.exists()


def test_a_valid_token_in_another_scheme_is_refused(
    anonymous: APIClient, gmail_mailbox: dict[str, Any], issuer: FakeGoogleIssuer
) -> None:
    assert post_push(anonymous, issuer.token(), scheme="Basic").status_code == 403


def test_without_a_configured_audience_every_push_is_refused(
    anonymous: APIClient, gmail_mailbox: dict[str, Any], issuer: FakeGoogleIssuer, desk_settings: Any
) -> None:
    desk_settings.P2PDESK_GMAIL_PUSH_AUDIENCE = ""
    bootstrap.desk.cache_clear()

    assert post_push(anonymous, issuer.token()).status_code == 403
    assert issuer.fetches == 0  # refused before any verification


def test_a_push_for_an_unknown_address_or_an_unreadable_body_is_acknowledged_without_a_poll(
    anonymous: APIClient, gmail_mailbox: dict[str, Any], gmail: WatchedGmail, issuer: FakeGoogleIssuer
) -> None:
    assert post_push(anonymous, issuer.token(), push("someone@else.example")).status_code == 204
    assert post_push(anonymous, issuer.token(), {"message": {"data": "%%%"}}).status_code == 204
    assert gmail.calls == []
