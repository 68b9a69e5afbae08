"""Real-world MIME through the whole intake: CPython's email test corpus and our hard cases.

Every message must end as a new ticket, an entry on an existing ticket, a recorded no-op or a
quarantine entry with a reason; none may raise or vanish.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM
from p2pdesk.application.use_cases.ingest_message import IngestMessage
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_mailboxes import SaveMailbox
from p2pdesk.application.use_cases.manage_teams import CreateTeam

try:
    import test.test_email as cpython_email_tests

    CPYTHON_CORPUS = sorted((Path(cpython_email_tests.__file__).parent / "data").glob("msg_*.txt"))
except ImportError:  # some Python builds ship without the test package
    CPYTHON_CORPUS = []
HARD_CASES = sorted((Path(__file__).parents[1] / "data" / "mail").glob("*.eml"))

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(tmp_path: Path, settings: Any) -> Any:
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    bootstrap.desk.cache_clear()
    desk = bootstrap.desk()
    team = desk.teams.create(CreateTeam(name="Accounts Payable"), SYSTEM)
    desk.agents.create(CreateAgent(email="ana@p2p.example", name="Ana", team_ids=[team]), SYSTEM)
    desk.mailboxes.create(
        SaveMailbox(name="default", kind="maildir", settings={"path": str(tmp_path)}, default_team_id=team),
        SYSTEM,
    )
    yield desk
    bootstrap.desk.cache_clear()


@pytest.mark.skipif(not CPYTHON_CORPUS, reason="this Python has no test.test_email data")
def test_every_cpython_corpus_message_is_accounted_for(desk: Any) -> None:
    outcomes = Counter(desk.ingest_message(IngestMessage(raw=p.read_bytes())).outcome for p in CPYTHON_CORPUS)
    assert sum(outcomes.values()) == len(CPYTHON_CORPUS) >= 40
    assert set(outcomes) <= {"created", "threaded", "duplicate", "ignored", "quarantined"}
    assert outcomes["created"] >= 30
    assert outcomes["quarantined"] == 0  # the parser reads them all (tests/integration/test_mime_parsing.py)


def test_every_hard_case_is_accounted_for(desk: Any) -> None:
    assert HARD_CASES
    results = {p.name: desk.ingest_message(IngestMessage(raw=p.read_bytes())) for p in HARD_CASES}
    assert all(
        r.outcome in {"created", "threaded", "duplicate", "ignored", "quarantined"} for r in results.values()
    )
    ignored = {name for name, r in results.items() if r.outcome == "ignored"}
    assert ignored == {"dsn_report.eml", "list_mail.eml", "out_of_office.eml"}
    assert all(r.outcome == "created" for name, r in results.items() if name not in ignored), results
