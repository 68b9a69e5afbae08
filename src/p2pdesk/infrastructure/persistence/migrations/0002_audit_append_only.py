"""Make the audit trail append-only in PostgreSQL: UPDATE, DELETE and TRUNCATE raise an error.

SQLite (the embedded demo default) has no such guard; the application never updates audit rows.
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

CREATE TRIGGER p2pdesk_audit_no_truncate
    BEFORE TRUNCATE ON p2pdesk_audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION p2pdesk_audit_is_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS p2pdesk_audit_no_truncate ON p2pdesk_audit_event;
DROP TRIGGER IF EXISTS p2pdesk_audit_no_update_delete ON p2pdesk_audit_event;
DROP FUNCTION IF EXISTS p2pdesk_audit_is_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("p2pdesk", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
