"""Django's PostgreSQL backend, with a cheaper check of a kept connection before a request uses it.

Django's check (CONN_HEALTH_CHECKS) sends `SELECT 1` at the start of every request that reaches the
database: a round trip to the server on each API call, about a tenth of a ticket create's. An idle
connection in a healthy session has nothing to read, and a connection the server ended (restart,
pg_terminate_backend, crash) has its FATAL message and the end of stream waiting on the socket. So
the socket is polled first, which costs no round trip: nothing to read means usable; anything to
read (or a session not idle) falls back to Django's `SELECT 1`, which tells a dead connection from
a notice. A connection that silently vanished (no FIN: a cut network) passes either check alike,
and the first query fails as it would have after `SELECT 1` hung.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq

__all__ = ["DatabaseWrapper"]


class DatabaseWrapper(base.DatabaseWrapper):
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
