"""The PostgreSQL backend (persistence/postgresql/base.py).

Health check of a kept connection: an idle healthy session passes without a round trip, a session
the server ended fails and is replaced before the request's first query, and a session with
something unread (a notification) still passes.

Writes queued by fast_sql.execute_later: sent before the next statement of any kind, or with the
COMMIT in one exchange; dropped by a rollback; a failing one fails the commit; not queued outside a
transaction."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from p2pdesk.infrastructure.persistence import fast_sql
from p2pdesk.infrastructure.persistence.postgresql.base import DatabaseWrapper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def other_connection() -> DatabaseWrapper:
    other = connections["default"].copy()
    assert isinstance(other, DatabaseWrapper)
    return other


def test_the_backend_is_in_use() -> None:
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.vendor == "postgresql"


def test_an_idle_healthy_connection_is_usable_without_a_round_trip(tmp_path: Path) -> None:
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with (tmp_path / "trace").open("w") as trace:
        pgconn.trace(trace.fileno())  # libpq logs every protocol message sent or received
        try:
            usable = connection.is_usable()
        finally:
            pgconn.untrace()
    assert usable
    assert (tmp_path / "trace").read_text() == ""  # no message went to the server


def test_a_connection_the_server_ended_is_unusable_and_replaced() -> None:
    pid = backend_pid()
    other = other_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    deadline = time.monotonic() + 10  # a liveness bound: the FATAL message arrives within ms
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection.is_usable()
    # What Django does at the start of a request that reaches the database:
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert backend_pid() != pid


def test_an_unread_notification_does_not_make_the_connection_unusable() -> None:
    with connection.cursor() as cursor:
        cursor.execute("LISTEN p2pdesk_health_test")
    other = other_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute("NOTIFY p2pdesk_health_test")
    finally:
        other.close()
    time.sleep(0.2)  # the notification reaches the socket
    assert connection.is_usable()  # the fallback round trip tells a notice from a dead session
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN *")
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.fixture
def scratch() -> Iterator[str]:
    """A table of its own for the write-behind tests (id unique)."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE later_scratch (id integer PRIMARY KEY, note text NOT NULL)")
    yield "later_scratch"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE later_scratch")


def rows_seen_elsewhere() -> list[tuple[int, str]]:
    """What another session sees (committed rows only)."""
    other = other_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT id, note FROM later_scratch ORDER BY id")
            return list(cursor.fetchall())
    finally:
        other.close()


def test_a_queued_write_goes_before_the_next_statement(scratch: str) -> None:
    with transaction.atomic():
        fast_sql.execute_later("INSERT INTO later_scratch VALUES (%s, %s)", [1, "queued"])
        assert rows_seen_elsewhere() == []  # not sent yet (nor committed)
        with connection.cursor() as cursor:  # any statement sends the queue first
            cursor.execute("SELECT note FROM later_scratch WHERE id = 1")
            assert cursor.fetchone() == ("queued",)
        fast_sql.execute_later("UPDATE later_scratch SET note = %s WHERE id = %s", ["updated", 1])
        assert fast_sql.fetch_one("SELECT note FROM later_scratch WHERE id = %s", [1]) == ("updated",)
    assert rows_seen_elsewhere() == [(1, "updated")]


def test_queued_writes_go_with_the_commit_in_one_round_trip(scratch: str, tmp_path: Path) -> None:
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with CaptureQueriesContext(connection) as captured, (tmp_path / "trace").open("w") as trace:
        with transaction.atomic():
            fast_sql.fetch_one("SELECT 1", [])
            pgconn.trace(trace.fileno())
            fast_sql.execute_later("INSERT INTO later_scratch VALUES (%s, %s)", [1, "a"])
            fast_sql.execute_later("INSERT INTO later_scratch VALUES (%s, %s)", [2, "b"])
        pgconn.untrace()
    messages = [line.split("\t") for line in (tmp_path / "trace").read_text().splitlines()]
    sent = [m[3] for m in messages if m[1] == "F"]
    received = [m[3] for m in messages if m[1] == "B"]
    # Both INSERTs and the COMMIT in one exchange: one Sync, one ReadyForQuery back.
    assert sent.count("Sync") == 1
    assert received.count("ReadyForQuery") == 1
    assert rows_seen_elsewhere() == [(1, "a"), (2, "b")]
    assert [q["sql"] for q in captured.captured_queries][-3:] == [
        "INSERT INTO later_scratch VALUES (1, 'a')",
        "INSERT INTO later_scratch VALUES (2, 'b')",
        "COMMIT",
    ]


def test_a_rollback_drops_the_queued_writes(scratch: str) -> None:
    def failing_unit() -> None:
        with transaction.atomic():
            fast_sql.execute_later("INSERT INTO later_scratch VALUES (%s, %s)", [1, "dropped"])
            raise RuntimeError("the unit of work fails")

    with pytest.raises(RuntimeError):
        failing_unit()
    with transaction.atomic():
        fast_sql.execute_later("INSERT INTO later_scratch VALUES (%s, %s)", [2, "kept"])
    assert rows_seen_elsewhere() == [(2, "kept")]


def test_a_queued_write_that_fails_fails_the_commit_and_nothing_is_written(scratch: str) -> None:
    def unit_with_a_duplicate() -> None:
        with transaction.atomic():
            fast_sql.execute_later("INSERT INTO later_scratch VALUES (%s, %s)", [1, "first"])
            fast_sql.execute_later("INSERT INTO later_scratch VALUES (%s, %s)", [1, "same id"])

    with pytest.raises(IntegrityError):
        unit_with_a_duplicate()
    assert rows_seen_elsewhere() == []
    with connection.cursor() as cursor:  # the connection is usable again
        cursor.execute("SELECT 1")


def test_outside_a_transaction_a_write_is_not_queued(scratch: str) -> None:
    fast_sql.execute_later("INSERT INTO later_scratch VALUES (%s, %s)", [1, "now"])
    assert rows_seen_elsewhere() == [(1, "now")]


def test_flush_sends_the_queue_before_the_raw_connection_is_used(scratch: str) -> None:
    with transaction.atomic():
        fast_sql.execute_later("INSERT INTO later_scratch VALUES (%s, %s)", [1, "queued"])
        fast_sql.flush_later()
        with connection.connection.cursor() as raw:  # bypasses Django's cursor and its wrappers
            raw.execute("SELECT count(*) FROM later_scratch")
            assert raw.fetchone() == (1,)
