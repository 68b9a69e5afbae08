from __future__ import annotations

import os
from typing import Any

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` run only on PostgreSQL; CI sets P2PDESK_REQUIRE_POSTGRES so none skip."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    if os.environ.get("P2PDESK_REQUIRE_POSTGRES"):
        raise pytest.UsageError("P2PDESK_REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL")
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """Let pytest-django flush the throwaway test database between transactional tests.

    The audit table refuses TRUNCATE unless the database sets p2pdesk.audit_maintenance; UPDATE and
    DELETE stay refused regardless (tests/integration proves both).
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        name = connection.settings_dict["NAME"]
        cursor.execute(f"ALTER DATABASE \"{name}\" SET p2pdesk.audit_maintenance = 'on'")
    connection.close()  # new connections pick the setting up
