"""Plain-cursor SQL for the few statements every ticket create and every incoming message runs.

Why: building a statement through the ORM costs about 0.4 ms of CPU each time (query cloning,
expression resolution, compilation), four times the round trip itself; a create runs a dozen.
These helpers keep the ORM's value adaptation (uuid, JSON, dates, per database) and only skip the
compilation, so the same code serves PostgreSQL and SQLite. Everything else stays on the ORM.

On PostgreSQL they also spare the database's side: a statement is bound server-side and prepared
(parsed and planned once per connection; P2PDESK_DB_PREPARE=0 turns that off for poolers), and
several rows go in by COPY. All of it still runs through Django's cursor wrapper, so
connection.execute_wrapper and the debug query log see every statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with _cursor(prepare=True) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with _cursor(prepare=True) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence[Any] | dict[str, Any], *, prepare: bool = True) -> int:
    with _cursor(prepare=prepare) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def execute_later(sql: str, params: Sequence[Any] | dict[str, Any]) -> None:
    """A write whose result nobody reads: on PostgreSQL inside a transaction it goes to the server
    with the next statement on the connection or with the COMMIT, whichever comes first (one round
    trip for several; see persistence/postgresql/base.py), elsewhere it runs now (`execute`). Code
    that then uses the raw psycopg connection, outside Django's cursor, calls `flush_later()` first."""
    later = getattr(connections[DEFAULT_DB_ALIAS], "execute_later", None)
    if later is None or not later(sql, params):
        execute(sql, params)


def flush_later() -> None:
    """Send the writes queued by execute_later now (before using the raw psycopg connection)."""
    flush = getattr(connections[DEFAULT_DB_ALIAS], "flush_later", None)
    if flush is not None:
        flush()


def _cursor(*, prepare: bool) -> Any:
    """A cursor through Django's wrapper (its execute_wrappers see every statement): on PostgreSQL
    the backend's server-side binding, preparing one (persistence/postgresql/base.py fast_cursor),
    unless Django logs queries (DEBUG, tests capturing them: its log reads the query back from a
    client-side cursor)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or db.queries_logged:
        return db.cursor()
    return db.fast_cursor(prepare=prepare)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive (stored in UTC); PostgreSQL aware."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def as_uuid(value: Any) -> uuid.UUID | None:
    """SQLite hands UUID columns back as 32 hex characters; PostgreSQL as UUIDs."""
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(value)


def db_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


@cache
def _columns(model: type[models.Model]) -> tuple[tuple[models.Field[Any, Any], ...], str]:
    fields = tuple(f for f in model._meta.concrete_fields if f is not model._meta.auto_field)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    return fields, f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 (names from the model)


def insert(rows: Sequence[models.Model], *, skip_conflicts: bool = False) -> int:
    """INSERT model instances of one model in one statement (auto ids are not read back).

    With skip_conflicts a row that breaks a unique constraint is left out instead of failing the
    transaction (ON CONFLICT DO NOTHING); the count of rows written tells the caller. Several rows
    without skip_conflicts go in by COPY on PostgreSQL: a multi-row INSERT's text is new for every
    row count (psycopg splits it afresh each time, PostgreSQL parses it), COPY's is one per table and
    costs both sides about half as much.
    """
    if not rows:
        return 0
    db = connections[DEFAULT_DB_ALIAS]
    values = _values(rows, db)
    if len(rows) > 1 and not skip_conflicts and db.vendor == "postgresql":
        return _copy(db, _copy_sql(type(rows[0])), values)
    sql, params = _insert_statement(type(rows[0]), values, skip_conflicts=skip_conflicts)
    return execute(sql, params, prepare=len(rows) == 1)


def insert_later(row: models.Model) -> None:
    """`insert([row])` as `execute_later`: for a row nothing reads back before commit."""
    values = _values([row], connections[DEFAULT_DB_ALIAS])
    execute_later(*_insert_statement(type(row), values))


def _values(rows: Sequence[models.Model], db: Any) -> list[list[Any]]:
    model = type(rows[0])
    if db.vendor == "postgresql":
        preparers = _preparers(model)
        return [[prepare(row.__dict__[name]) for name, prepare in preparers] for row in rows]
    fields, _ = _columns(model)
    return [[f.get_db_prep_save(getattr(row, f.attname), db) for f in fields] for row in rows]


def _insert_statement(
    model: type[models.Model], values: list[list[Any]], *, skip_conflicts: bool = False
) -> tuple[str, list[Any]]:
    fields, head = _columns(model)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    tail = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    params = [value for row in values for value in row]
    return head + ", ".join([placeholder] * len(values)) + tail, params


# PostgreSQL takes these Python values for these fields as they are: the field's get_db_prep_save
# (a chain of method calls, a tenth of the poller's time on the rows it writes) would hand back the
# same object. Any other value, or field, still goes through it.
_AS_IS: dict[type[models.Field[Any, Any]], type] = {
    models.CharField: str,
    models.TextField: str,
    models.EmailField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.SmallIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.AutoField: int,
    models.BigAutoField: int,
    models.UUIDField: uuid.UUID,
    models.DateTimeField: datetime,
}


@cache
def _preparers(model: type[models.Model]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """For each column INSERT writes: the attribute holding its value, and how to prepare it."""
    fields, _ = _columns(model)
    return tuple((f.attname, _preparer(f)) for f in fields)


def _preparer(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    plain = _AS_IS.get(type(target))

    def prepare(value: Any) -> Any:
        if value is None or (type(value) is plain and (plain is not datetime or value.tzinfo is not None)):
            return value
        return field.get_db_prep_save(value, connection)

    return prepare


@cache
def _copy_sql(model: type[models.Model]) -> str:
    fields, _ = _columns(model)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    return f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"


def _copy(db: Any, sql: str, values: list[list[Any]]) -> int:
    """COPY the rows in, through Django's cursor wrapper: its execute_wrappers see one statement,
    and its debug log (DEBUG, tests capturing queries) records it."""
    db.ensure_connection()
    cursor = (db.make_debug_cursor if db.queries_logged else db.make_cursor)(psycopg.Cursor(db.connection))

    def run(sql: str, rows: list[list[Any]], many: bool, context: Any) -> int:
        db.validate_no_broken_transaction()
        with db.wrap_database_errors, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)

    with cursor:
        return int(cursor._execute_with_wrappers(sql, values, many=True, executor=run))
