"""Mail intake end to end: raw MIME over HTTP, the real parser, file store and database."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from p2pdesk.application.principal import Role
from tests.e2e.conftest import client_for

MakeFn = Callable[..., dict[str, Any]]


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, settings: Any) -> None:
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    from p2pdesk import bootstrap

    bootstrap.desk.cache_clear()
    yield
    bootstrap.desk.cache_clear()


@pytest.fixture
def inbox(admin: APIClient, make_team: MakeFn, make_agent: MakeFn, tmp_path: Path) -> dict[str, Any]:
    team = make_team(name="Accounts Payable")
    make_agent([team["id"]])
    response = admin.post(
        "/api/v1/mailboxes/",
        {
            "name": "default",
            "kind": "maildir",
            "address": "ap@p2p.example",
            "settings": {"path": str(tmp_path / "maildir")},
            "default_team": team["id"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return {"team": team, "mailbox": response.json()}


def mime(n: int, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Vendor AP <ap@acme.example>")
    message["To"] = "ap@p2p.example"
    message["Subject"] = headers.pop("Subject", f"Invoice INV-{n} missing from portal")
    message["Message-ID"] = f"<m{n}@acme.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(
        f"Hello,\n\ninvoice INV-{n} (EUR 1,200.00) is not visible in the portal.\n\nRegards, Acme"
    )
    message.add_attachment(b"%PDF-1.4 demo", maintype="application", subtype="pdf", filename=f"INV-{n}.pdf")
    return message.as_bytes()


def post(client: APIClient, raw: bytes, query: str = "") -> Any:
    return client.generic("POST", f"/api/v1/intake/messages/{query}", raw, content_type="message/rfc822")


def test_raw_message_becomes_one_ticket_with_its_thread_and_attachment(
    admin: APIClient, inbox: dict[str, Any]
) -> None:
    created = post(admin, mime(1))
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["outcome"], body["reason"]) == ("created", None)
    ticket = admin.get(f"/api/v1/tickets/{body['ticket']}/").json()
    assert (ticket["team"], ticket["source"], ticket["requester_email"]) == (
        inbox["team"]["id"],
        "email",
        "ap@acme.example",
    )
    assert ticket["agent"] is not None

    again = post(admin, mime(1))
    assert (again.status_code, again.json()["outcome"], again.json()["ticket"]) == (
        200,
        "duplicate",
        body["ticket"],
    )

    thread = admin.get(f"/api/v1/tickets/{body['ticket']}/messages/").json()["results"]
    assert len(thread) == 1
    [attachment] = thread[0]["attachments"]
    assert (thread[0]["direction"], thread[0]["from"]) == ("inbound", "ap@acme.example")
    assert (attachment["filename"], attachment["size"]) == ("INV-1.pdf", len(b"%PDF-1.4 demo"))
    download = admin.get(attachment["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 demo"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment")


def test_reply_threads_and_auto_reply_is_ignored(admin: APIClient, inbox: dict[str, Any]) -> None:
    first = post(admin, mime(1)).json()
    reply = post(admin, mime(2, Subject="Re: Invoice", References="<m1@acme.example>"))
    assert (reply.status_code, reply.json()["outcome"], reply.json()["ticket"]) == (
        200,
        "threaded",
        first["ticket"],
    )
    ooo = post(admin, mime(3, Auto_Submitted="auto-replied", Subject="Out of office"))
    assert (ooo.status_code, ooo.json()["outcome"], ooo.json()["ticket"]) == (200, "ignored", None)
    assert len(admin.get("/api/v1/tickets/").json()["results"]) == 1


def test_bad_requests_and_quarantine(admin: APIClient, inbox: dict[str, Any]) -> None:
    assert post(admin, b"").status_code == 400
    assert post(admin, mime(1), "?mailbox=nope").status_code == 400
    wrong_type = admin.generic("POST", "/api/v1/intake/messages/", mime(1), content_type="text/plain")
    assert wrong_type.status_code == 415
    agent = client_for("someone@p2p.example", Role.AGENT)
    assert post(agent, mime(1)).status_code == 403

    admin.patch(f"/api/v1/teams/{inbox['team']['id']}/", {"is_active": False}, format="json")
    held = post(admin, mime(5))
    assert (held.status_code, held.json()["outcome"]) == (202, "quarantined")
    listed = admin.get("/api/v1/intake/quarantine/").json()["results"]
    assert [q["attempts"] for q in listed] == [1]
    assert "inactive" in listed[0]["reason"]
    admin.patch(f"/api/v1/teams/{inbox['team']['id']}/", {"is_active": True}, format="json")
    retried = admin.post(f"/api/v1/intake/quarantine/{listed[0]['id']}/retry/")
    assert (retried.status_code, retried.json()["outcome"]) == (201, "created")
    assert admin.get("/api/v1/intake/quarantine/").json()["results"] == []
    assert admin.post(f"/api/v1/intake/quarantine/{listed[0]['id']}/retry/").status_code == 409


def test_message_size_limit(admin: APIClient, inbox: dict[str, Any], settings: Any) -> None:
    settings.P2PDESK_MAX_MESSAGE_BYTES = 1000
    response = post(admin, mime(1) + b"x" * 2000)
    assert (response.status_code, response.json()["code"]) == (413, "message_too_large")


def test_mailbox_secret_is_write_only_and_settings_are_checked(
    admin: APIClient, inbox: dict[str, Any]
) -> None:
    body = {
        "name": "vendors",
        "kind": "imap",
        "settings": {
            "host": "127.0.0.1",
            "port": 993,
            "security": "ssl",
            "username": "vendors@p2p.example",
            "folder": "INBOX",
            "processed_folder": "Processed",
        },
        "secret": "hunter2",
        "default_team": inbox["team"]["id"],
    }
    created = admin.post("/api/v1/mailboxes/", body, format="json")
    assert created.status_code == 201
    assert created.json()["has_secret"] is True
    assert "hunter2" not in created.content.decode()
    audit = admin.get(f"/api/v1/audit-events/?entity_type=mailbox&entity_id={created.json()['id']}").json()
    assert "hunter2" not in str(audit)
    bad = admin.post("/api/v1/mailboxes/", {**body, "name": "x", "settings": {"host": "h"}}, format="json")
    assert bad.status_code == 400
    assert "missing" in bad.json()["message"]


def test_ingest_command_and_demo_poll(
    admin: APIClient, inbox: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    folder = tmp_path / "eml"
    folder.mkdir()
    for n in range(1, 4):
        (folder / f"{n}.eml").write_bytes(mime(n))
    (folder / "dup.eml").write_bytes(mime(1))
    call_command("ingest", str(folder))
    import json

    summary = json.loads(capsys.readouterr().out)
    assert summary["outcomes"] == {"created": 3, "duplicate": 1}

    maildir = Path(inbox["mailbox"]["settings"]["path"])
    (maildir / "new").mkdir(parents=True)
    (maildir / "new" / "a").write_bytes(mime(7))
    call_command("poll_mailboxes", "--mailbox", "default")
    [polled] = json.loads(capsys.readouterr().out)
    assert polled["outcomes"] == {"created": 1}
    assert (maildir / "processed" / "a").exists()


def test_agent_reply_is_mailed_after_commit_and_the_answer_threads(
    admin: APIClient, inbox: dict[str, Any], mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    ticket_id = post(admin, mime(1)).json()["ticket"]
    with django_capture_on_commit_callbacks(execute=True):
        reply = admin.post(
            f"/api/v1/tickets/{ticket_id}/messages/", {"body": "Paid on 12 Nov."}, format="json"
        )
    assert reply.status_code == 201
    [sent] = mailoutbox
    assert sent.to == ["ap@acme.example"]
    assert sent.extra_headers["In-Reply-To"] == "<m1@acme.example>"
    assert sent.extra_headers["Message-ID"] == f"<{reply.json()['message_id']}>"

    with django_capture_on_commit_callbacks(execute=True):
        note = admin.post(
            f"/api/v1/tickets/{ticket_id}/messages/", {"body": "SAP checked", "internal": True}, format="json"
        )
    assert note.json()["direction"] == "note"
    assert len(mailoutbox) == 1

    answer = mime(2, Subject="Re: paid?", In_Reply_To=f"<{reply.json()['message_id']}>")
    threaded = post(admin, answer).json()
    assert (threaded["outcome"], threaded["ticket"]) == ("threaded", ticket_id)
    thread = admin.get(f"/api/v1/tickets/{ticket_id}/messages/").json()["results"]
    assert [m["direction"] for m in thread] == ["inbound", "outbound", "note", "inbound"]
    assert (
        admin.post(f"/api/v1/tickets/{ticket_id}/messages/", {"body": ""}, format="json").status_code == 400
    )


def test_unhealthy_mailbox_shows_in_api_readyz_and_metrics(
    admin: APIClient,
    inbox: dict[str, Any],
    tmp_path: Path,
    capsys: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    broken = admin.post(
        "/api/v1/mailboxes/",
        {
            "name": "vendors",
            "kind": "maildir",
            "settings": {"path": str(tmp_path / "missing")},
            "default_team": inbox["team"]["id"],
        },
        format="json",
    ).json()
    (tmp_path / "maildir").mkdir()
    (tmp_path / "maildir" / "1.eml").write_bytes(mime(1))
    with django_capture_on_commit_callbacks(execute=True):  # metrics are published after commit
        call_command("poll_mailboxes")
    capsys.readouterr()
    states = APIClient().get("/readyz").json()
    assert states["status"] == "ok"
    assert states["mailboxes"]["default"] == "ok"
    assert "does not exist" in states["mailboxes"]["vendors"]
    listed = {m["name"]: m for m in admin.get("/api/v1/mailboxes/").json()["results"]}
    assert (listed["vendors"]["healthy"], listed["default"]["healthy"]) == (False, True)
    assert broken["last_polled_at"] is None
    assert listed["vendors"]["last_polled_at"] is not None
    metrics = APIClient().get("/metrics").content.decode()
    assert 'p2pdesk_mailbox_up{mailbox="vendors"} 0.0' in metrics
    assert 'p2pdesk_intake_messages_total{mailbox="default",outcome="created"}' in metrics


def test_graph_and_gmail_mailboxes_are_configured_and_a_bad_key_is_reported(
    admin: APIClient, inbox: dict[str, Any], capsys: Any
) -> None:
    team = inbox["team"]["id"]
    graph = {"tenant_id": "t", "client_id": "c", "user": "ap@p2p.example", "folder": "inbox"}
    created = admin.post(
        "/api/v1/mailboxes/",
        {"name": "m365", "kind": "graph", "settings": graph, "secret": "s", "default_team": team},
        format="json",
    )
    assert created.status_code == 201, created.content
    gmail = {"user": "ap@p2p.example", "label": "INBOX"}
    body = {"name": "gmail", "kind": "gmail", "settings": gmail, "secret": "not json", "default_team": team}
    assert admin.post("/api/v1/mailboxes/", body, format="json").status_code == 201
    call_command("poll_mailboxes", "--mailbox", "gmail")
    import json

    [result] = json.loads(capsys.readouterr().out)
    assert "not a service-account JSON key" in result["error"]


def test_a_message_that_fails_inside_a_poll_group_is_quarantined_and_the_rest_taken_in(
    inbox: dict[str, Any], tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    """The poller takes a batch in under one commit; one message failing midway must not cost the
    others their tickets (the group is redone message by message) nor make any of them twice."""
    import json

    from p2pdesk.infrastructure.persistence.intake import DjangoThreadRepository
    from p2pdesk.infrastructure.persistence.models import InboundMessageRecord, TicketRecord

    original_add = DjangoThreadRepository.add

    def add_or_fail(self: DjangoThreadRepository, message: Any) -> None:
        if "m3@acme.example" in (message.message_id or ""):
            raise RuntimeError("disk on fire")
        original_add(self, message)

    monkeypatch.setattr(DjangoThreadRepository, "add", add_or_fail)
    maildir = Path(inbox["mailbox"]["settings"]["path"])
    (maildir / "new").mkdir(parents=True)
    for n in range(1, 6):
        (maildir / "new" / f"{n}").write_bytes(mime(n))
    call_command("poll_mailboxes", "--mailbox", "default")
    [polled] = json.loads(capsys.readouterr().out)
    assert polled["outcomes"] == {"created": 4, "quarantined": 1}
    assert TicketRecord.objects.count() == 4
    assert InboundMessageRecord.objects.count() == 4
    assert sorted((maildir / "processed").iterdir()) == [maildir / "processed" / f"{n}" for n in range(1, 6)]


def test_a_poll_group_takes_a_message_in_once_and_threads_replies_to_its_own_messages(
    admin: APIClient, inbox: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    """A poll commits its messages as a group whose new tickets, thread entries and inbound records
    are written at the group's end: a reply to a message of the same group must still thread onto it,
    a message delivered twice must still count once (within the group, and when a later poll meets
    it again: its group then conflicts on the inbound record and is redone message by message)."""
    import json

    from p2pdesk.infrastructure.persistence.models import InboundMessageRecord, TicketRecord

    maildir = Path(inbox["mailbox"]["settings"]["path"])
    (maildir / "new").mkdir(parents=True)
    (maildir / "new" / "1").write_bytes(mime(1))
    (maildir / "new" / "2").write_bytes(mime(2))
    (maildir / "new" / "3").write_bytes(mime(3, Subject="Re: Invoice INV-1", In_Reply_To="<m1@acme.example>"))
    (maildir / "new" / "4").write_bytes(mime(1))  # the same message again
    (maildir / "new" / "5").write_bytes(mime(5, Subject="Re: Invoice", References="<m3@acme.example>"))
    call_command("poll_mailboxes", "--mailbox", "default")
    [polled] = json.loads(capsys.readouterr().out)
    assert polled["outcomes"] == {"created": 2, "threaded": 2, "duplicate": 1}
    [first, second] = TicketRecord.objects.order_by("number")
    thread = admin.get(f"/api/v1/tickets/{first.id}/messages/").json()["results"]
    assert sorted(m["message_id"] for m in thread) == [f"m{n}@acme.example" for n in (1, 3, 5)]
    assert len(admin.get(f"/api/v1/tickets/{second.id}/messages/").json()["results"]) == 1

    # Delivered again after it was committed (a crash before the mailbox was acknowledged), with new mail.
    (maildir / "new" / "6").write_bytes(mime(2))
    (maildir / "new" / "7").write_bytes(mime(7))
    call_command("poll_mailboxes", "--mailbox", "default")
    [polled] = json.loads(capsys.readouterr().out)
    assert polled["outcomes"] == {"created": 1, "duplicate": 1}
    assert TicketRecord.objects.count() == 3
    assert InboundMessageRecord.objects.count() == 5  # 1, 2, 3, 5 and 7: duplicates are not logged
