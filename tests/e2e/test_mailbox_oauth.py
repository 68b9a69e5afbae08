"""OAuth mailboxes through the API and the poller: settings checked, tokens kept across polls, a failed
sign-in shown as the mailbox's health (API, /readyz, metric) with a reason and without secrets.

Providers are faked in process (respx for Microsoft, FakeGmail for Google): nothing leaves it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from django.core.management import call_command
from rest_framework.test import APIClient

from p2pdesk import bootstrap
from tests.fakes.entra import fake_entra
from tests.integration.test_gmail_reader import KEY_LINE, SERVICE_ACCOUNT, FakeGmail
from tests.integration.test_gmail_reader import USER as GMAIL_USER
from tests.integration.test_graph_reader import (
    ACCESS_TOKEN,
    CLIENT,
    DELTA_1,
    FIRST,
    SECRET,
    TENANT,
    TOKEN_URL,
    USER,
    page,
)

IMAP = {"host": "127.0.0.1", "port": 1, "security": "none", "username": USER}
IMAP |= {"folder": "INBOX", "processed_folder": "Processed"}
MICROSOFT = {"auth": "xoauth2", "oauth_provider": "microsoft", "tenant_id": TENANT, "client_id": CLIENT}


@pytest.fixture
def desk_settings(settings: Any, tmp_path: Path) -> Iterator[Any]:
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    bootstrap.desk.cache_clear()  # a fresh desk: no token kept from another test
    yield settings
    bootstrap.desk.cache_clear()


@pytest.fixture
def entra() -> Iterator[respx.MockRouter]:
    with fake_entra() as mock:
        yield mock


@pytest.fixture
def create(admin: APIClient, make_team: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    team = make_team()["id"]

    def create(name: str, kind: str, settings: dict[str, Any], secret: str = SECRET) -> Any:
        body = {"name": name, "kind": kind, "settings": settings, "secret": secret, "default_team": team}
        return admin.post("/api/v1/mailboxes/", body, format="json")

    return create


def poll(capsys: Any, name: str) -> dict[str, Any]:
    call_command("poll_mailboxes", "--mailbox", name)
    [result] = json.loads(capsys.readouterr().out)
    return result


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"auth": "xoauth2"}, "auth xoauth2 needs oauth_provider microsoft or google"),
        ({"auth": "xoauth2", "oauth_provider": "yahoo"}, "needs oauth_provider microsoft or google"),
        ({**MICROSOFT, "tenant_id": " "}, "oauth_provider microsoft needs tenant_id"),
        ({"auth": "xoauth2", "oauth_provider": "microsoft"}, "needs client_id, tenant_id"),
        ({"auth": "xoauth2", "oauth_provider": "google", "client_id": CLIENT}, "client_id do not apply"),
        ({"oauth_provider": "google"}, "oauth_provider only apply to auth xoauth2"),
        ({"auth": "password", "tenant_id": TENANT}, "tenant_id only apply to auth xoauth2"),
        ({**MICROSOFT, "scope": "x"}, "unknown ['scope']"),
    ],
)
def test_imap_oauth_settings_are_checked(
    create: Callable[..., Any], settings: dict[str, Any], problem: str
) -> None:
    response = create("m365", "imap", {**IMAP, **settings})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert problem in response.json()["message"]


@pytest.mark.parametrize(
    "settings", [MICROSOFT, {"auth": "xoauth2", "oauth_provider": "google"}, {"auth": "password"}]
)
def test_imap_oauth_settings_are_accepted(create: Callable[..., Any], settings: dict[str, Any]) -> None:
    response = create("imap", "imap", {**IMAP, **settings})

    assert response.status_code == 201, response.content
    assert response.json()["settings"] == {**IMAP, **settings}
    assert "secret" not in response.json()


def test_a_refused_imap_token_marks_the_mailbox_unhealthy_with_the_reason_and_no_secret(
    admin: APIClient,
    create: Callable[..., Any],
    desk_settings: Any,
    entra: respx.MockRouter,
    capsys: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    entra.post(TOKEN_URL).respond(
        401,
        json={
            "error": "invalid_client",
            "error_description": f"AADSTS7000222: The client secret keys for app {CLIENT} are expired.",
            "error_codes": [7000222],
        },
    )
    assert create("m365", "imap", {**IMAP, **MICROSOFT}).status_code == 201

    with django_capture_on_commit_callbacks(execute=True):  # the metric is published after commit
        result = poll(capsys, "m365")

    reason = (
        f"the Microsoft identity platform refused app {CLIENT} in tenant {TENANT} for "
        "https://outlook.office365.com/.default: invalid_client AADSTS7000222"
    )
    assert result["error"] == reason
    assert APIClient().get("/readyz").json()["mailboxes"]["m365"] == reason
    [listed] = [m for m in admin.get("/api/v1/mailboxes/").json()["results"] if m["name"] == "m365"]
    assert (listed["healthy"], listed["last_error"]) == (False, reason)
    metrics = APIClient().get("/metrics").content.decode()
    assert 'p2pdesk_mailbox_up{mailbox="m365"} 0.0' in metrics
    assert SECRET not in json.dumps([result, listed])


def test_an_imap_mailbox_saved_with_a_bare_token_is_unhealthy_with_a_reason(
    admin: APIClient, create: Callable[..., Any], desk_settings: Any, capsys: Any
) -> None:
    # Saved before oauth_provider existed (the secret was the access token itself): rows keep such
    # settings, which the API now refuses.
    from p2pdesk.infrastructure.persistence.models import MailboxRecord

    mailbox_id = create("legacy", "imap", IMAP).json()["id"]
    MailboxRecord.objects.filter(id=mailbox_id).update(settings={**IMAP, "auth": "xoauth2"})

    result = poll(capsys, "legacy")

    assert "auth xoauth2 needs oauth_provider microsoft or google" in result["error"]
    assert SECRET not in result["error"]


def test_graph_polls_reuse_one_token(
    create: Callable[..., Any], desk_settings: Any, entra: respx.MockRouter, capsys: Any
) -> None:
    token = entra.post(TOKEN_URL).respond(
        json={"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS_TOKEN}
    )
    graph = {"tenant_id": TENANT, "client_id": CLIENT, "user": USER, "folder": "inbox"}
    assert create("m365", "graph", graph).status_code == 201
    entra.get(FIRST).respond(json=page(delta_link=DELTA_1))
    entra.get(DELTA_1).respond(json=page(delta_link=DELTA_1))

    results = [poll(capsys, "m365") for _ in range(3)]

    assert [r["error"] for r in results] == [None, None, None]
    assert token.call_count == 1  # every poll opens a new reader; the token outlives them


def test_a_new_secret_signs_in_afresh(
    admin: APIClient, create: Callable[..., Any], desk_settings: Any, entra: respx.MockRouter, capsys: Any
) -> None:
    token = entra.post(TOKEN_URL).respond(
        json={"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS_TOKEN}
    )
    graph = {"tenant_id": TENANT, "client_id": CLIENT, "user": USER, "folder": "inbox"}
    mailbox = create("m365", "graph", graph).json()
    entra.get(FIRST).respond(json=page(delta_link=DELTA_1))
    entra.get(DELTA_1).respond(json=page(delta_link=DELTA_1))
    poll(capsys, "m365")

    admin.patch(f"/api/v1/mailboxes/{mailbox['id']}/", {"secret": "rotated-secret-2"}, format="json")
    poll(capsys, "m365")

    assert token.call_count == 2
    assert "client_secret=rotated-secret-2" in token.calls.last.request.content.decode()


def test_gmail_polls_reuse_one_signed_token(
    create: Callable[..., Any], desk_settings: Any, capsys: Any
) -> None:
    gmail = FakeGmail()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="gmail.googleapis.com").mock(side_effect=gmail)
        mock.route(host="oauth2.googleapis.com").mock(side_effect=gmail)
        settings = {"user": GMAIL_USER, "label": "INBOX"}
        assert create("gmail", "gmail", settings, secret=json.dumps(SERVICE_ACCOUNT)).status_code == 201

        results = [poll(capsys, "gmail") for _ in range(3)]

    assert [r["error"] for r in results] == [None, None, None]
    assert len(gmail.jwt_claims) == 1


def test_a_refused_gmail_delegation_is_the_mailbox_health_without_the_key(
    create: Callable[..., Any], desk_settings: Any, capsys: Any
) -> None:
    gmail = FakeGmail()
    import httpx

    gmail.answer("token", httpx.Response(401, json={"error": "unauthorized_client"}))
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="oauth2.googleapis.com").mock(side_effect=gmail)
        mock.route(host="gmail.googleapis.com").mock(side_effect=gmail)
        settings = {"user": GMAIL_USER, "label": "INBOX"}
        assert create("gmail", "gmail", settings, secret=json.dumps(SERVICE_ACCOUNT)).status_code == 201
        result = poll(capsys, "gmail")

    assert "unauthorized_client" in result["error"]
    assert "domain-wide delegation" in result["error"]
    assert KEY_LINE not in result["error"]
    assert "unauthorized_client" in APIClient().get("/readyz").json()["mailboxes"]["gmail"]
