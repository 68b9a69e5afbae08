from __future__ import annotations

from django.db import DatabaseError, connection

from p2pdesk.infrastructure.persistence.models import QuarantineRecord


def check_database() -> tuple[bool, str]:
    """Round-trip a trivial query; the reason is safe to show (no connection details)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return False, type(error).__name__
    return True, "ok"


def open_quarantine_size() -> int:
    return QuarantineRecord.objects.filter(resolved_at__isnull=True).count()
