"""Django's PostgreSQL backend with two savings for the statements every request runs.

Health check. Django's check of a kept connection (CONN_HEALTH_CHECKS) sends `SELECT 1` at the
start of every request that reaches the database: a round trip per API call. An idle connection in
a healthy session has nothing to read, and a connection the server ended (restart,
pg_terminate_backend, crash) has its FATAL message and the end of stream waiting on the socket. So
the socket is polled first, which costs no round trip: nothing to read means usable; anything to
read (or a session not idle) falls back to Django's `SELECT 1`, which tells a dead connection from
a notice. A connection that silently vanished (no FIN: a cut network) passes either check alike,
and its first query fails as it would have after `SELECT 1` hung.

Writes sent with the next statement. A ticket create ends with writes whose results nobody reads
(the agent's counters, the ticket row, its audit rows) and then COMMIT: four round trips while the
team's assignment lock is held, each one a wait for the server and then for a CPU to resume on.
`execute_later()` (through persistence.fast_sql) queues such a statement inside a transaction; the
queue goes to the server in one pipeline before anything else runs on the connection: with the
COMMIT (one round trip for all), before any statement through a Django cursor (an execute wrapper),
or on `flush_later()` (code that uses the raw psycopg connection calls it first). A rollback drops
the queue with the transaction. The order of statements on the server is the order they were
issued; an error in a queued statement is raised where the queue is sent (at the latest by the
COMMIT, which then fails as a whole). Queued statements are prepared like fast_sql's own
(P2PDESK_DB_PREPARE).
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction
from psycopg import pq

__all__ = ["DatabaseWrapper"]

_NEVER_BY_COUNT = 2**31 - 1  # psycopg then prepares only when asked


class _PreparingCursor(psycopg.Cursor[Any]):
    def execute(  # type: ignore[override]
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        return super().execute(query, params, prepare=True, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._later: list[tuple[str, Any]] = []
        self.execute_wrappers.append(self._flush_first)

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

    def execute_later(self, sql: str, params: Any) -> bool:
        """Queue a write whose result nobody reads, to go with the next statement or the COMMIT.

        False (nothing queued: run it now) outside a transaction.
        """
        if not self.in_atomic_block:
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
            cursor = self._later_cursor()
            for sql, params in queued:
                cursor.execute(sql, params)
            if commit:
                # As a statement of the pipeline, so that the pipeline's closing Sync is the only
                # exchange (connection.commit() would sync, and the pipeline's end once more).
                self.connection.execute("COMMIT")

    def fast_cursor(self, *, prepare: bool) -> Any:
        """A cursor through Django's wrapper (its execute_wrappers see every statement) that binds
        server-side and, for `prepare`, prepares: PostgreSQL parses and plans a hot statement once
        per connection. Django's own cursors bind client-side and never prepare (prepare_threshold is
        None for them, for connection poolers' sake); this raises the connection's threshold out of
        reach and asks for preparing explicitly, unless P2PDESK_DB_PREPARE is off (a pooler that
        cannot keep prepared statements). Not while Django logs queries: its log reads the query
        back from a client-side cursor."""
        self.ensure_connection()
        raw = self.connection
        if raw.prepare_threshold is None:
            raw.prepare_threshold = _NEVER_BY_COUNT
        self.validate_thread_sharing()
        preparing = prepare and settings.P2PDESK_DB_PREPARE
        return self.make_cursor(_PreparingCursor(raw) if preparing else psycopg.Cursor(raw))

    def _later_cursor(self) -> Any:
        """Through Django's wrapper (execute wrappers, the debug log); prepared as fast_sql's are,
        except while Django logs queries (it reads them back from a client-side cursor)."""
        if self.queries_logged:
            return self.make_debug_cursor(self.create_cursor())
        return self.fast_cursor(prepare=True)

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
