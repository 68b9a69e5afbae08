"""Session-level locks (PostgreSQL advisory locks): one poller per mailbox, one beat per desk."""

from __future__ import annotations

import threading
import time

import structlog
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

log = structlog.get_logger(__name__)

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


_SCHEDULER_LOCK = (7303, 1)


class SchedulerLock:
    """One Celery beat at a time: a session-level advisory lock on a connection of its own, held for
    the life of the beat process (PostgreSQL drops it when the process or its connection dies).

    Kubernetes already runs one beat (replicas 1, Recreate); this covers what it cannot: a node that
    is cut off but still running its old pod, or someone starting a beat by hand. The second beat
    waits here, so it takes over as soon as the first is gone. On SQLite (the embedded desk, one
    process) there is nothing to hold.
    """

    def __init__(self) -> None:
        self._connection: BaseDatabaseWrapper | None = None

    def try_acquire(self) -> bool:
        if connection.vendor != "postgresql":
            return True
        own = connections.create_connection(DEFAULT_DB_ALIAS)  # not the thread's: Django never closes it
        try:
            with own.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", list(_SCHEDULER_LOCK))
                acquired = bool(cursor.fetchone()[0])
        except DatabaseError:
            acquired = False
        if not acquired:
            own.close()
            return False
        self._connection = own
        return True

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()  # ends the session, which releases its advisory locks
            self._connection = None

    _held: SchedulerLock | None = None

    @classmethod
    def hold(cls, retry_seconds: float = 5.0) -> None:
        lock = cls()
        while not lock.try_acquire():
            log.warning("beat.waiting_for_scheduler_lock", retry_seconds=retry_seconds)
            time.sleep(retry_seconds)
        log.info("beat.scheduler_lock_held")
        cls._held = lock
