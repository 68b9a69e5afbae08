"""Make the audit trail append-only in PostgreSQL: UPDATE, DELETE and TRUNCATE raise an error.

TRUNCATE is let through only where the database owner has set `p2pdesk.audit_maintenance = on`
(for a retention purge, or a throwaway test database that is flushed between tests); UPDATE and
DELETE of single rows are refused always. SQLite (the embedded demo default) has no such guard.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION p2pdesk_audit_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'p2pdesk_audit_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER p2pdesk_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON p2pdesk_audit_event
    FOR EACH ROW EXECUTE FUNCTION p2pdesk_audit_is_append_only();

CREATE OR REPLACE FUNCTION p2pdesk_audit_truncate_guard() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('p2pdesk.audit_maintenance', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'p2pdesk_audit_event is append-only: TRUNCATE needs p2pdesk.audit_maintenance=on'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER p2pdesk_audit_no_truncate
    BEFORE TRUNCATE ON p2pdesk_audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION p2pdesk_audit_truncate_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS p2pdesk_audit_no_truncate ON p2pdesk_audit_event;
DROP TRIGGER IF EXISTS p2pdesk_audit_no_update_delete ON p2pdesk_audit_event;
DROP FUNCTION IF EXISTS p2pdesk_audit_truncate_guard();
DROP FUNCTION IF EXISTS p2pdesk_audit_is_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("p2pdesk", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
