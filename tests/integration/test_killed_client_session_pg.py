"""A worker killed while its statement waits on a lock must not leave its session (and the locks it
holds, such as a mailbox's poll lock) behind: the settings make PostgreSQL check the client's socket
while a statement runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HELD = (7399, 1)  # an advisory lock this test holds, so the child's statement waits on it
CHILD = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_advisory_lock(7399, 2)")  # what it holds when killed
    print(cursor.connection.info.backend_pid, flush=True)
    cursor.execute("SELECT pg_advisory_lock(7399, 1)")  # waits here until killed
"""


def session_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return bool(cursor.fetchone()[0])


def waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
        return bool(cursor.fetchone()[0])


def test_a_killed_clients_waiting_session_ends_and_frees_its_locks() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", HELD)
    db = connection.settings_dict  # the test database: advisory locks are per database
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = dict(os.environ, DATABASE_URL=url)
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, env=env)  # noqa: S603
    try:
        assert child.stdout is not None
        backend = int(child.stdout.readline())
        while not waiting_on_a_lock(backend):
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        deadline = time.monotonic() + 30  # a liveness bound, not a timing target: checks run every 2 s
        while session_alive(backend) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not session_alive(backend)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(7399, 2)")  # the dead worker's lock is free
            assert cursor.fetchone()[0]
            cursor.execute("SELECT pg_advisory_unlock(7399, 2)")
    finally:
        child.kill()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", HELD)
