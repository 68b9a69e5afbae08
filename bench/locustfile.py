"""The load mix for bench/load.py (locust). Three kinds of users, all against the API:

- agents (weight 6): list their tickets (GET /api/v1/tickets/?limit=25, 3 of 6 actions), read one
  (GET /api/v1/tickets/<id>/, 2 of 6) and its thread (GET .../messages/, 1 of 6);
- integrations (weight 3): create a ticket (POST /api/v1/tickets/, with an Idempotency-Key);
- intake (weight 1): post one raw RFC 5322 message (POST /api/v1/intake/messages/).

No think time: each user sends its next request as soon as the last is answered, so requests/s is
what the stack sustains at that many concurrent users. Configured by bench/load.py through the
environment (tokens, team ids).
"""

from __future__ import annotations

import os
import random
import uuid
from email.message import EmailMessage
from email.utils import formatdate

from locust import HttpUser, constant, task

AGENT_TOKEN = os.environ.get("BENCH_AGENT_TOKEN", "")
INTEGRATION_TOKEN = os.environ.get("BENCH_INTEGRATION_TOKEN", "")
TEAMS = [int(t) for t in os.environ.get("BENCH_TEAMS", "1").split(",")]
SUBJECTS = [
    "Invoice {n} missing",
    "Payment for {n} not processed",
    "PO {n} approval stuck",
    "GRN {n} mismatch",
]


class AgentUser(HttpUser):
    weight = 6
    wait_time = constant(0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {AGENT_TOKEN}"
        self.ticket_ids: list[str] = []

    @task(3)
    def list_tickets(self) -> None:
        with self.client.get(
            "/api/v1/tickets/?limit=25", name="GET /api/v1/tickets/", catch_response=True
        ) as r:
            if r.status_code == 200:
                self.ticket_ids = [t["id"] for t in r.json()["results"]] or self.ticket_ids
                r.success()

    @task(2)
    def read_ticket(self) -> None:
        if self.ticket_ids:
            self.client.get(
                f"/api/v1/tickets/{random.choice(self.ticket_ids)}/", name="GET /api/v1/tickets/<id>/"
            )

    @task(1)
    def read_thread(self) -> None:
        if self.ticket_ids:
            ticket = random.choice(self.ticket_ids)
            self.client.get(f"/api/v1/tickets/{ticket}/messages/", name="GET /api/v1/tickets/<id>/messages/")


class IntegrationUser(HttpUser):
    weight = 3
    wait_time = constant(0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {INTEGRATION_TOKEN}"

    @task
    def create_ticket(self) -> None:
        n = random.randint(1000, 999_999)
        self.client.post(
            "/api/v1/tickets/",
            json={
                "subject": random.choice(SUBJECTS).format(n=f"INV-{n}"),
                "description": "Raised by the ERP integration during the load test.",
                "team": random.choice(TEAMS),
                "priority": random.randint(1, 4),
                "requester_email": f"vendor{n % 500}@supplier.example",
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
            name="POST /api/v1/tickets/",
        )


class IntakeUser(HttpUser):
    weight = 1
    wait_time = constant(0)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {INTEGRATION_TOKEN}"

    @task
    def post_message(self) -> None:
        n = random.randint(1000, 999_999)
        message = EmailMessage()
        message["From"] = f"AP Clerk <ap{n % 300}@vendor.example>"
        message["To"] = "ap@p2pdesk.example"
        message["Subject"] = random.choice(SUBJECTS).format(n=f"INV-{n}")
        message["Message-ID"] = f"<{uuid.uuid4().hex}@vendor.example>"
        message["Date"] = formatdate(localtime=False)
        message.set_content(f"Hello,\n\nplease check invoice INV-{n}; it is still open.\n\nRegards")
        self.client.post(
            "/api/v1/intake/messages/?mailbox=default",
            data=message.as_bytes(),
            headers={"Content-Type": "message/rfc822"},
            name="POST /api/v1/intake/messages/",
        )
