"""Scheduled polling: in process without a broker, and through a real Celery worker on Redis."""

from __future__ import annotations

import email.message
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_mailboxes import SaveMailbox
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.infrastructure.persistence.models import TicketRecord
from p2pdesk.infrastructure.tasks.mail import backoff_with_jitter, poll_due_mailboxes_task, poll_mailbox_task


def write_mail(folder: Path, n: int) -> None:
    message = email.message.EmailMessage()
    message["From"] = "ap@acme.example"
    message["To"] = "ap@p2p.example"
    message["Subject"] = f"Payment for INV-{n} not received"
    message["Message-ID"] = f"<task-{n}@acme.example>"
    message.set_content("Hello, when will INV-{n} be paid?")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{n}.eml").write_bytes(message.as_bytes())


@pytest.fixture
def mailboxes(tmp_path: Path, settings: Any) -> Iterator[dict[str, Path]]:
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    bootstrap.desk.cache_clear()
    desk = bootstrap.desk()
    team = desk.teams.create(CreateTeam(name="Payments"), SYSTEM)
    desk.agents.create(CreateAgent(email="ana@p2p.example", name="Ana", team_ids=[team]), SYSTEM)
    folders = {name: tmp_path / name for name in ("payments", "vendors")}
    for name, folder in folders.items():
        desk.mailboxes.create(
            SaveMailbox(name=name, kind="maildir", settings={"path": str(folder)}, default_team_id=team),
            SYSTEM,
        )
    yield folders
    bootstrap.desk.cache_clear()


@pytest.mark.django_db
def test_without_a_broker_due_mailboxes_are_polled_in_process(mailboxes: dict[str, Path]) -> None:
    write_mail(mailboxes["payments"], 1)
    write_mail(mailboxes["vendors"], 2)
    assert sorted(poll_due_mailboxes_task.delay().get()) == ["payments", "vendors"]
    assert TicketRecord.objects.count() == 2
    assert poll_due_mailboxes_task.delay().get() == []  # both polled just now: not due again yet


def test_backoff_grows_with_retries_and_stays_bounded() -> None:
    assert all(0 <= backoff_with_jitter(0) <= 10 for _ in range(100))
    assert max(backoff_with_jitter(4) for _ in range(200)) > 10
    assert all(backoff_with_jitter(30) <= 15 * 60 for _ in range(100))


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_polls_a_mailbox(mailboxes: dict[str, Path], redis_worker: str) -> None:
    for n in range(1, 4):
        write_mail(mailboxes["payments"], n)
    poll_mailbox_task.delay("payments")
    deadline = time.monotonic() + 60
    while TicketRecord.objects.filter(source="email").count() < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert TicketRecord.objects.filter(source="email").count() == 3
    assert sorted(p.name for p in (mailboxes["payments"] / "processed").iterdir()) == [
        "1.eml",
        "2.eml",
        "3.eml",
    ]
