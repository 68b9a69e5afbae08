"""The commit group on PostgreSQL: units share one transaction without savepoints; a unit that fails
or conflicts rolls the whole group back as a GroupConflict, so the caller can redo it unit by unit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from p2pdesk.application.assigning import pick_agent
from p2pdesk.application.errors import GroupConflict, TransientConflict
from p2pdesk.application.principal import SYSTEM
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.bootstrap import desk
from p2pdesk.domain.events import DomainEvent
from p2pdesk.infrastructure.events.metrics import PrometheusEventPublisher
from p2pdesk.infrastructure.persistence.models import AgentRecord, AuditEventRecord, TeamRecord
from p2pdesk.infrastructure.persistence.secrets import SecretCipher
from p2pdesk.infrastructure.persistence.unit_of_work import DjangoUnitOfWork, commit_group
from p2pdesk.ports.repositories import AuditEntry

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def unit() -> DjangoUnitOfWork:
    cipher = SecretCipher.from_settings(None, settings.SECRET_KEY)
    return DjangoUnitOfWork(desk_timezone="UTC", publisher=PrometheusEventPublisher(), cipher=cipher)


def rename(name: str, *, fail: BaseException | None = None, deadlock: bool = False) -> None:
    """One unit of work: rename the first team, then fail as asked."""
    with unit() as uow:
        TeamRecord.objects.update(name=name)
        if deadlock:  # what PostgreSQL raises when it breaks a deadlock
            with connection.cursor() as cursor:
                cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")
        if fail is not None:
            raise fail
        uow.commit()


@pytest.fixture
def team() -> None:
    desk().teams.create(CreateTeam(name="start"), SYSTEM)


def name() -> str:
    return TeamRecord.objects.get().name


def test_a_deadlock_outside_a_group_is_a_retryable_transient_conflict(team: None) -> None:
    with pytest.raises(TransientConflict):
        rename("x", deadlock=True)
    assert name() == "start"


def test_a_deadlock_inside_a_group_rolls_back_the_whole_group(team: None) -> None:
    def both() -> None:
        with commit_group():
            rename("first")  # not committed until the group is
            rename("second", deadlock=True)

    with pytest.raises(GroupConflict):
        both()
    assert name() == "start"


def test_a_failing_unit_rolls_back_the_whole_group_and_its_side_effects(team: None) -> None:
    after_commit: list[str] = []

    def first_then_a_failure() -> None:
        with commit_group():
            with unit() as uow:
                TeamRecord.objects.update(name="first")
                uow.after_commit(lambda: after_commit.append("ran"))
                uow.commit()
            rename("dropped", fail=ValueError("bad message"))

    with pytest.raises(GroupConflict, match="bad message") as raised:
        first_then_a_failure()
    assert isinstance(raised.value.__cause__, ValueError)
    assert name() == "start"
    assert after_commit == []  # the group never committed


def test_a_unit_that_does_not_commit_rolls_back_the_group(team: None) -> None:
    def first_then_no_commit() -> None:
        with commit_group():
            rename("first")
            with unit():
                TeamRecord.objects.update(name="never committed")

    with pytest.raises(GroupConflict, match="did not commit"):
        first_then_no_commit()
    assert name() == "start"


def test_units_of_a_group_commit_together_and_side_effects_wait_for_it(team: None) -> None:
    after_commit: list[str] = []
    with commit_group():
        rename("first")
        with unit() as uow:
            uow.after_commit(lambda: after_commit.append("ran"))
            uow.commit()
        rename("kept")
        assert after_commit == []  # side effects wait for the group's commit
    assert name() == "kept"
    assert after_commit == ["ran"]


def test_units_outside_a_group_commit_on_their_own(team: None) -> None:
    rename("alone")
    assert name() == "alone"


def statements(work: Callable[[], None]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        work()
    return [query["sql"] for query in captured.captured_queries]


def test_a_group_locks_and_reads_a_team_once_for_all_its_units(team: None) -> None:
    [team_id] = TeamRecord.objects.values_list("id", flat=True)

    def lock_and_read_twice() -> None:
        for _ in range(2):
            with unit() as uow:
                uow.assignment.lock_teams([team_id])
                assert uow.teams.get(team_id) is not None
                uow.commit()

    def grouped() -> None:
        with commit_group():
            lock_and_read_twice()

    alone, together = statements(lock_and_read_twice), statements(grouped)
    assert sum("pg_advisory_xact_lock" in sql for sql in alone) == 2
    assert sum("FROM p2pdesk_team WHERE id" in sql for sql in alone) == 2
    assert sum("pg_advisory_xact_lock" in sql for sql in together) == 1  # held till the group commits
    assert sum("FROM p2pdesk_team WHERE id" in sql for sql in together) == 1
    assert not any("SAVEPOINT" in sql for sql in together)


def audit(uow: DjangoUnitOfWork, note: str) -> None:
    event = DomainEvent("team.noted", "team", "1", after={"note": note})
    uow.audit.append([AuditEntry(actor="system", at=datetime.now(UTC), event=event)])


def test_a_group_writes_its_audit_rows_in_one_statement_before_it_commits(team: None) -> None:
    def two_units() -> None:
        with commit_group():
            for note in ("first", "second"):
                with unit() as uow:
                    audit(uow, note)
                    uow.commit()
                assert not AuditEventRecord.objects.filter(action="team.noted").exists()  # held back

    writes = [sql for sql in statements(two_units) if sql.startswith(("INSERT", "COPY")) and "audit" in sql]
    assert len(writes) == 1
    assert writes[0].startswith('COPY "p2pdesk_audit_event"')  # several rows: by COPY on PostgreSQL
    notes = (
        AuditEventRecord.objects.filter(action="team.noted").order_by("id").values_list("after", flat=True)
    )
    assert [after["note"] for after in notes] == ["first", "second"]  # in the order they happened


def test_held_back_rows_are_dropped_with_a_group_that_rolls_back(team: None) -> None:
    def noted_then_failed() -> None:
        with commit_group():
            with unit() as uow:
                audit(uow, "lost with the group")
                uow.commit()
            rename("x", fail=ValueError("bad message"))

    with pytest.raises(GroupConflict):
        noted_then_failed()
    assert not AuditEventRecord.objects.filter(action="team.noted").exists()


def test_a_group_locks_an_agent_row_once_and_still_sees_its_own_assignments(team: None) -> None:
    """After a unit has locked an agent's row (held till the group commits), the next units take the
    load best_candidates reads as it is: nobody else can change it, and it includes the group's own
    assignments."""
    [team_id] = TeamRecord.objects.values_list("id", flat=True)
    desk().agents.create(CreateAgent(email="ap@x.example", name="AP", team_ids=[team_id]), SYSTEM)
    seen: list[int] = []

    def assign_three() -> None:
        at = datetime.now(UTC)
        for _ in range(3):
            with unit() as uow:
                uow.assignment.lock_teams([team_id])
                team = uow.teams.get(team_id)
                assert team is not None
                load = pick_agent(uow, team, at=at)
                assert load is not None
                seen.append(load.assigned_today)
                uow.assignment.record_assignments({load.agent_id: 1}, at=at)
                uow.commit()

    def grouped() -> None:
        with commit_group():
            assign_three()

    locks = [sql for sql in statements(grouped) if "FOR NO KEY UPDATE" in sql]
    assert len(locks) == 1
    assert seen == [0, 1, 2]
    assert AgentRecord.objects.get().assigned_today == 3
    assign_three()  # outside a group every unit locks and reloads for itself
    assert seen[3:] == [3, 4, 5]
