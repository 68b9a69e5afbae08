"""fast_sql on PostgreSQL: prepared hot statements, several rows by COPY, values handed over as they are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.db import connection

from p2pdesk.infrastructure.persistence import fast_sql
from p2pdesk.infrastructure.persistence.models import AuditEventRecord

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

STATEMENT = "SELECT count(*) FROM p2pdesk_audit_event WHERE actor = %s"


def prepared() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [STATEMENT[:30] + "%"]
        )
        return int(cursor.fetchone()[0])


def test_a_hot_statement_is_prepared_once_per_connection(settings: Any) -> None:
    settings.P2PDESK_DB_PREPARE = True
    for _ in range(3):
        assert fast_sql.fetch_one(STATEMENT, ["nobody"]) == (0,)
    assert prepared() == 1


def test_statements_are_not_prepared_when_turned_off_for_a_pooler(settings: Any) -> None:
    settings.P2PDESK_DB_PREPARE = False
    for _ in range(3):
        assert fast_sql.fetch_one(STATEMENT, ["nobody"]) == (0,)
    assert prepared() == 0


def test_several_rows_go_in_by_copy_and_read_back_as_they_were() -> None:
    at = datetime(2026, 11, 20, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    tricky = "tab\there, new\nline, back\\slash, quote \" ' , comma; Grüße ✓, \\N and \\."
    rows = [
        AuditEventRecord(
            at=at,
            actor=tricky,
            action="x.copied",
            entity_type="ticket",
            entity_id="7",
            before={},
            after={"text": tricky, "n": 1, "none": None, "list": [1, "two"]},
        ),
        AuditEventRecord(
            at=at + timedelta(seconds=1),
            actor="",
            action="x.copied",
            entity_type="ticket",
            entity_id=42,  # type: ignore[misc]  # not a str: prepared by the field, as the ORM would
            before={"a": [None]},
            after={},
        ),
    ]
    assert fast_sql.insert(rows) == 2
    back = list(
        AuditEventRecord.objects.filter(action="x.copied")
        .order_by("at")
        .values_list("at", "actor", "entity_id", "before", "after")
    )
    assert back == [
        (at.astimezone(UTC), tricky, "7", {}, {"text": tricky, "n": 1, "none": None, "list": [1, "two"]}),
        ((at + timedelta(seconds=1)).astimezone(UTC), "", "42", {"a": [None]}, {}),
    ]
