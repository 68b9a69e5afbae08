"""Django's PostgreSQL backend with two savings for the statements every request runs.

Health check. Django's check of a kept connection (CONN_HEALTH_CHECKS) sends `SELECT 1` at the
start of every request that reaches the database: a round trip per API call. An idle connection in
a healthy session has nothing to read, and a connection the server ended (restart,
pg_terminate_backend, crash) has its FATAL message and the end of stream waiting on the socket. So
the socket is polled first, which costs no round trip: nothing to read means usable; anything to
read (or a session not idle) falls back to Django's `SELECT 1`, which tells a dead connection from
a notice. A connection that silently vanished (no FIN: a cut network) passes either check alike,
and its first query fails as it would have after `SELECT 1` hung.

Prepared statements. Django binds parameters on the client and never prepares (so that
transaction-mode poolers work), and PostgreSQL parses and plans each statement anew: for the short
statements of a ticket create that is most of their cost on the server (about 70 of 110 us for a
pool SELECT). `prepared_cursor()` gives a Django cursor (wrappers, query capture and all) whose
statements are bound on the server and prepared on first use in each session. Only fixed SQL texts
should go through it (persistence.fast_sql does that); the ORM keeps Django's cursor. Off with
DB_PREPARED_STATEMENTS=0 (for a transaction-mode connection pooler without prepared-statement
support): the cursor is then Django's usual one.

Writes sent with the next statement. A ticket create ends with writes whose results nobody reads
(the agent's counters, the ticket row, its audit rows) and then COMMIT: four round trips while the
team's assignment lock is held, each one a wait for the server and then for a CPU to resume on.
`execute_later()` queues such a statement inside a transaction; the queue goes to the server in one
pipeline before anything else runs on the connection: with the COMMIT (one round trip for all),
before any statement through a Django cursor (an execute wrapper), or on `flush_later()` (code that
uses the raw psycopg connection calls it first). A rollback drops the queue with the transaction.
The order of statements on the server is the order they were issued; an error in a queued
statement is raised where the queue is sent (at the latest by the COMMIT, which then fails as a
whole). DB_PREPARED_STATEMENTS=0 turns this off too: every write is then sent at once.
"""

from __future__ import annotations

import select
from typing import Any, cast

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.utils import CursorWrapper, debug_transaction
from psycopg import pq

__all__ = ["DatabaseWrapper"]

_NEVER_BY_ITSELF = 2**31


def _prepared_statements() -> bool:
    return bool(getattr(settings, "P2PDESK_PREPARED_STATEMENTS", True))


class PreparedCursor(base.ServerBindingCursor):  # type: ignore[misc]
    """Server-side binding, and every statement prepared (once per session; psycopg keeps them)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: Any = None
    ) -> Any:
        return super().execute(query, params, prepare=True, binary=binary)


class DatabaseOperations(base.DatabaseOperations):  # type: ignore[misc]
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        if isinstance(cursor, PreparedCursor):  # its query text has $1...: show the values merged
            return cast("str | None", super().compose_sql(sql, params))
        return cast("str | None", super().last_executed_query(cursor, sql, params))


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._later: list[tuple[str, Any]] = []
        self.execute_wrappers.append(self._flush_first)

    def execute_later(self, sql: str, params: Any) -> bool:
        """Queue a write whose result nobody reads, to go with the next statement or the COMMIT.

        False (nothing queued: run it now) outside a transaction or with prepared statements off.
        """
        if not self.in_atomic_block or not _prepared_statements():
            return False
        self._later.append((sql, params))
        return True

    def flush_later(self) -> None:
        """Send the queued writes now (in one round trip)."""
        if self._later:
            self._send_later(commit=False)

    def _send_later(self, *, commit: bool) -> None:
        queued, self._later = self._later, []
        self.ensure_connection()
        with self.wrap_database_errors, self.connection.pipeline():
            cursor = self._prepare_cursor(self._new_prepared_cursor())  # seen by wrappers and logs
            for sql, params in queued:
                cursor.execute(sql, params)
            if commit:
                # As a statement of the pipeline, so that the pipeline's closing Sync is the only
                # exchange (connection.commit() would sync, and the pipeline's end once more).
                self.connection.execute("COMMIT")

    def _flush_first(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self._later:
            self.flush_later()
        return execute(sql, params, many, context)

    def _commit(self) -> None:
        if self._later and self.connection is not None:
            with debug_transaction(self, "COMMIT"):
                self._send_later(commit=True)
            return
        super()._commit()

    def _rollback(self) -> None:
        self._later.clear()
        super()._rollback()

    def _close(self) -> None:
        self._later.clear()
        super()._close()

    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None:
            return False
        pgconn = conn.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return bool(super().is_usable())
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
            waiting = poller.poll(0)
        except (OSError, ValueError, psycopg.Error):  # the socket is gone already
            return False
        if not waiting:
            return True
        return bool(super().is_usable())

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if connection.prepare_threshold is None and _prepared_statements():
            # Django turns psycopg's preparing off (prepare_threshold None), which also ignores an
            # explicit prepare=True. A threshold no statement reaches on its own lets PreparedCursor
            # ask; Django's cursors bind on the client and never prepare anyway.
            connection.prepare_threshold = _NEVER_BY_ITSELF
        return connection

    def prepared_cursor(self) -> CursorWrapper:
        """A cursor for fixed statements run often: prepared on the server (see the module doc)."""
        if not _prepared_statements():
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(self._new_prepared_cursor())  # type: ignore[no-any-return]

    def _new_prepared_cursor(self) -> PreparedCursor:
        cursor = PreparedCursor(self.connection)
        tzloader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)
        if self.timezone != tzloader.timezone:
            base.register_tzloader(self.timezone, cursor)
        return cursor
