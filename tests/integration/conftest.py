"""Fixtures for adapters that need a real server beside the database."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

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
