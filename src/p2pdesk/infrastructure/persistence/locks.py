"""Session-level locks that keep one poller per mailbox across processes (PostgreSQL advisory locks)."""

from __future__ import annotations

import threading

from django.db import connection

_MAILBOX_LOCK_NAMESPACE = 7302


class DatabasePollLock:
    """pg_try_advisory_lock on PostgreSQL (held by this connection until released or it closes);
    an in-process lock on SQLite, where the embedded desk runs in one process."""

    _local_held: set[int] = set()
    _local_guard = threading.Lock()

    def try_acquire(self, mailbox_id: int) -> bool:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_MAILBOX_LOCK_NAMESPACE, mailbox_id])
                return bool(cursor.fetchone()[0])
        with self._local_guard:
            if mailbox_id in self._local_held:
                return False
            self._local_held.add(mailbox_id)
            return True

    def release(self, mailbox_id: int) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_MAILBOX_LOCK_NAMESPACE, mailbox_id])
            return
        with self._local_guard:
            self._local_held.discard(mailbox_id)
