"""The health check of a kept connection (persistence/postgresql/base.py): an idle healthy session
passes without a round trip, a session the server ended fails and is replaced before the request's
first query, and a session with something unread (a notification) still passes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection, connections

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
