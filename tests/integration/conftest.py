"""Fixtures for adapters that need a real server beside the database."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from config import celery_app
from tests.integration.dovecot import DovecotServer, DovecotUnavailable, TestMailbox, ensure_running


@pytest.fixture(scope="session")
def dovecot_server() -> DovecotServer:
    server = DovecotServer.from_environment()
    try:
        ensure_running(server)
    except DovecotUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the loopback Dovecot: {exc}", pytrace=False)
        pytest.skip(f"needs the loopback Dovecot: {exc}")
    return server


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> Iterator[TestMailbox]:
    """A new, empty folder for this test alone; its processed folder does not exist yet."""
    mailbox = TestMailbox.create(dovecot_server)
    yield mailbox
    mailbox.remove()


def redis_test_url() -> str:
    """A Redis database of this pytest process's own (db 8 for gw0 or no xdist, 9 for gw1, ...).

    Tests on two xdist workers that shared one broker database took each other's tasks: a worker
    in one process ran the other's poll against its own database and the other waited in vain.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return f"redis://127.0.0.1:6379/{8 + int(worker.removeprefix('gw'))}"


@pytest.fixture
def redis_worker() -> Iterator[str]:
    """A real Celery worker on Redis, in a thread of this process (solo pool); yields the broker URL.

    The broker database is emptied first, so no task left by an interrupted earlier run is taken.
    """
    url = redis_test_url()
    try:
        redis.Redis.from_url(url).flushdb()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    previous = {k: celery_app.conf[k] for k in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=url, task_always_eager=False)
    celery_app._after_fork()  # drop producer connections made for the previous broker setting
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            yield url
    finally:
        celery_app.conf.update(previous)
        celery_app._after_fork()
