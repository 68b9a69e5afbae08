"""The commit group on PostgreSQL: units become savepoints of one transaction, conflicts give way."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from p2pdesk.application.errors import GroupConflict, TransientConflict
from p2pdesk.application.principal import SYSTEM
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.bootstrap import desk
from p2pdesk.infrastructure.events.metrics import PrometheusEventPublisher
from p2pdesk.infrastructure.persistence.models import TeamRecord
from p2pdesk.infrastructure.persistence.secrets import SecretCipher
from p2pdesk.infrastructure.persistence.unit_of_work import DjangoUnitOfWork, commit_group

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
            rename("first")  # committed as a savepoint only
            rename("second", deadlock=True)

    with pytest.raises(GroupConflict):
        both()
    assert name() == "start"


def test_a_failing_unit_in_a_group_loses_only_its_own_writes(team: None) -> None:
    after_commit: list[str] = []
    with commit_group():
        rename("kept")
        with pytest.raises(ValueError, match="bad message"):
            rename("dropped", fail=ValueError("bad message"))
        with unit() as uow:
            uow.after_commit(lambda: after_commit.append("ran"))
            uow.commit()
        assert after_commit == []  # side effects wait for the group's commit
    assert name() == "kept"
    assert after_commit == ["ran"]


def test_units_outside_a_group_commit_on_their_own(team: None) -> None:
    rename("alone")
    assert name() == "alone"
