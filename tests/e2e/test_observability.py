"""What operators see: request ids on responses and log lines, Prometheus metrics by route and team,
intake lag and quarantine size, and logs that never carry secrets or mail bodies."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from config.logging import json_handler
from p2pdesk import bootstrap

MakeFn = Callable[..., dict[str, Any]]


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, settings: Any) -> Iterator[None]:
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    bootstrap.desk.cache_clear()
    yield
    bootstrap.desk.cache_clear()


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every JSON line the project writes (the production formatter, at INFO), parsed."""
    stream = io.StringIO()
    handler = json_handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def samples(client: APIClient, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = client.get("/metrics").content.decode()
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Any:
    return django_capture_on_commit_callbacks


def mime(n: int, sent: datetime, body: str = "Invoice INV-{n} is not visible in the portal.") -> bytes:
    message = EmailMessage()
    message["From"] = "Vendor AP <ap@acme.example>"
    message["To"] = "ap@p2p.example"
    message["Subject"] = f"Invoice INV-{n} missing"
    message["Message-ID"] = f"<obs{n}@acme.example>"
    message["Date"] = format_datetime(sent)
    message.set_content(body.format(n=n))
    return message.as_bytes()


@pytest.fixture
def inbox(admin: APIClient, make_team: MakeFn, make_agent: MakeFn, tmp_path: Path) -> dict[str, Any]:
    team = make_team(name="Accounts Payable")
    make_agent([team["id"]])
    response = admin.post(
        "/api/v1/mailboxes/",
        {
            "name": "default",
            "kind": "maildir",
            "settings": {"path": str(tmp_path / "maildir")},
            "default_team": team["id"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return team


def test_a_callers_request_id_is_echoed_and_logged(admin: APIClient, log_lines: Any) -> None:
    response = admin.get("/api/v1/teams/", HTTP_X_REQUEST_ID="checkout-7f3a")
    assert response["X-Request-ID"] == "checkout-7f3a"
    [line] = [entry for entry in log_lines() if entry["event"] == "http.request"]
    assert line["request_id"] == "checkout-7f3a"
    assert (line["route"], line["status"], line["method"]) == ("api/v1/teams/", 200, "GET")


def test_a_request_without_a_usable_id_gets_a_fresh_one(admin: APIClient) -> None:
    first = admin.get("/api/v1/teams/")["X-Request-ID"]
    second = admin.get("/api/v1/teams/", HTTP_X_REQUEST_ID="not allowed\nin a log line")["X-Request-ID"]
    assert len({first, second}) == 2
    assert all(len(rid) == 32 and rid.isalnum() for rid in (first, second))


def test_latency_is_labelled_by_route_pattern_not_by_path(
    admin: APIClient, make_team: MakeFn, make_ticket: MakeFn
) -> None:
    team = make_team()
    ticket = make_ticket(team["id"])
    admin.get(f"/api/v1/tickets/{ticket['id']}/")
    routes = {
        dict(labels)["route"] for labels in samples(admin, "p2pdesk_http_request_duration_seconds_count")
    }
    assert "api/v1/tickets/<uuid:ticket_id>/" in routes
    assert not any(ticket["id"] in route for route in routes)


def test_tickets_created_assigned_and_resolved_are_counted_per_team(
    admin: APIClient, make_team: MakeFn, make_agent: MakeFn, make_ticket: MakeFn, on_commit: Any
) -> None:
    team = make_team()
    make_agent([team["id"]])
    label = str(team["id"])
    before = samples(admin, "p2pdesk_ticket_events_total")
    resolved_before = samples(admin, "p2pdesk_tickets_resolved_total").get((("team", label),), 0)
    with on_commit(execute=True):  # metrics are published once the transaction commits
        ticket = make_ticket(team["id"])
        resolved = admin.patch(f"/api/v1/tickets/{ticket['id']}/", {"status": "resolved"}, format="json")
    assert resolved.status_code == 200
    after = samples(admin, "p2pdesk_ticket_events_total")
    for action in ("created", "assigned"):
        key = (("action", action), ("team", label))
        assert after[key] - before.get(key, 0) == 1
    assert samples(admin, "p2pdesk_tickets_resolved_total")[(("team", label),)] - resolved_before == 1


def test_intake_lag_per_mailbox_and_quarantine_size(
    admin: APIClient, inbox: dict[str, Any], on_commit: Any
) -> None:
    lag_key = (("mailbox", "default"),)
    count_before = samples(admin, "p2pdesk_intake_lag_seconds_count").get(lag_key, 0)
    sum_before = samples(admin, "p2pdesk_intake_lag_seconds_sum").get(lag_key, 0)
    sent = datetime.now(UTC) - timedelta(minutes=10)
    with on_commit(execute=True):
        posted = admin.post("/api/v1/intake/messages/", mime(1, sent), content_type="message/rfc822")
    assert posted.status_code == 201, posted.content
    assert samples(admin, "p2pdesk_intake_lag_seconds_count")[lag_key] - count_before == 1
    assert samples(admin, "p2pdesk_intake_lag_seconds_sum")[lag_key] - sum_before >= 600

    assert samples(admin, "p2pdesk_quarantine_size") == {(): 0}
    # A team that takes no tickets: the message is kept in quarantine, to retry later.
    admin.patch(f"/api/v1/teams/{inbox['id']}/", {"is_active": False}, format="json")
    held = admin.post("/api/v1/intake/messages/", mime(2, sent), content_type="message/rfc822")
    assert held.status_code == 202, held.content
    assert samples(admin, "p2pdesk_quarantine_size") == {(): 1}


def test_secrets_tokens_and_mail_bodies_never_reach_the_logs(
    admin: APIClient, inbox: dict[str, Any], log_lines: Any
) -> None:
    secret = "hunter2-mailbox-password-5d1e"
    body_marker = "CONFIDENTIAL-IBAN-DE89370400440532013000"
    token = admin._credentials["HTTP_AUTHORIZATION"].split()[1]
    created = admin.post(
        "/api/v1/mailboxes/",
        {
            "name": "vendors",
            "kind": "imap",
            "settings": {
                "host": "127.0.0.1",
                "port": 1,  # nothing listens: the poll below fails and logs why
                "security": "none",
                "username": "ap",
                "folder": "INBOX",
                "processed_folder": "Processed",
            },
            "secret": secret,
            "default_team": inbox["id"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    message = mime(2, datetime.now(UTC), body=f"Please pay to {body_marker}, invoice INV-{{n}}.")
    assert admin.post("/api/v1/intake/messages/", message, content_type="message/rfc822").status_code == 201
    from django.core.management import call_command

    call_command("poll_mailboxes", "--mailbox", "vendors", stdout=io.StringIO())
    structlog_logger = __import__("structlog").get_logger("test")
    structlog_logger.info("careless.call", password=secret, body=body_marker, api_token=token)

    text = "\n".join(json.dumps(line) for line in log_lines())
    assert "http.request" in text
    assert "careless.call" in text  # logged, with the values replaced
    for leaked in (secret, body_marker, token):
        assert leaked not in text


def test_the_grafana_dashboard_charts_only_metrics_the_service_exports(admin: APIClient) -> None:
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "deploy/grafana/p2pdesk.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    charted = {
        re.sub(r"_(bucket|count|sum|total)$", "", m) for e in exprs for m in re.findall(r"p2pdesk_\w+", e)
    }
    exported = {f.name for f in text_string_to_metric_families(admin.get("/metrics").content.decode())}
    assert charted
    assert charted <= exported, charted - exported
