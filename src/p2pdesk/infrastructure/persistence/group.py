"""What a commit group (several units of work in one transaction, see unit_of_work.commit_group)
lets its units share, to spare round trips that the group's one transaction makes redundant:

- team advisory locks: a transaction-level lock stays held until the group commits, so taking it
  again for the next message of the same team is a round trip that changes nothing; the same goes
  for an agent row the pool has locked (assignment_pool.lock_and_reload);
- rows that stay put for the group's few milliseconds (a team, an SLA policy): read once;
- rows written along the way (audit events, routing records, references, and the intake's tickets,
  thread entries and inbound log): held back and written in one multi-row INSERT per table just
  before the group commits. A read that could see a held-back row first writes them all out
  (`see_held_back`), or looks among them itself (`held_back`), so every unit reads its group's
  writes as if they had been made at once. Foreign keys are checked at commit (DEFERRABLE INITIALLY
  DEFERRED), so the tables may be written in any order.

Outside a group nothing is shared: every unit of work reads and locks for itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from django.db import models

from p2pdesk.infrastructure.persistence import fast_sql

M = TypeVar("M", bound=models.Model)


@dataclass
class GroupState:
    locked_teams: set[int] = field(default_factory=set)
    locked_agents: set[int] = field(default_factory=set)  # agent rows locked FOR NO KEY UPDATE
    rows: dict[tuple[str, tuple[Any, ...]], tuple[Any, ...] | None] = field(default_factory=dict)
    pending: dict[type[models.Model], list[models.Model]] = field(default_factory=dict)

    def flush(self) -> None:
        """Write the rows held back, table by table in the order they first came, 100 per INSERT."""
        for rows in self.pending.values():
            for start in range(0, len(rows), 100):
                fast_sql.insert(rows[start : start + 100])
        self.pending.clear()


_current: ContextVar[GroupState | None] = ContextVar("p2pdesk_commit_group", default=None)


def current_group() -> GroupState | None:
    return _current.get()


@contextmanager
def group_state() -> Iterator[GroupState]:
    state = GroupState()
    token = _current.set(state)
    try:
        yield state
    finally:
        _current.reset(token)


def read_once_per_group(
    fetch: Callable[[str, Sequence[Any]], tuple[Any, ...] | None], sql: str, params: Sequence[Any]
) -> tuple[Any, ...] | None:
    """`fetch(sql, params)`, remembered for the rest of the group when there is one."""
    state = _current.get()
    if state is None:
        return fetch(sql, params)
    key = (sql, tuple(params))
    if key not in state.rows:
        state.rows[key] = fetch(sql, params)
    return state.rows[key]


def insert_by_group_end(rows: Sequence[models.Model]) -> None:
    """INSERT rows (of one model): now, or in a group with the group's other rows of that table just
    before it commits (reads of that table in the group call see_held_back or held_back first)."""
    if not rows:
        return
    state = _current.get()
    if state is None:
        fast_sql.insert(rows)
    else:
        state.pending.setdefault(type(rows[0]), []).extend(rows)


def held_back(model: type[M]) -> Sequence[M]:
    """The rows of `model` the current group holds back (none outside a group)."""
    state = _current.get()
    if state is None:
        return ()
    return cast(Sequence[M], state.pending.get(model, ()))


def replace_held_back(row: models.Model) -> bool:
    """Put `row` in place of the held-back row of its model with the same primary key: an UPDATE of a
    row this group made and holds back. False when there is none (the row is in the table)."""
    state = _current.get()
    rows = state.pending.get(type(row)) if state is not None else None
    for index, held in enumerate(rows or ()):
        if held.pk == row.pk:
            rows[index] = row  # type: ignore[index]
            return True
    return False


def see_held_back(*tables: type[models.Model]) -> None:
    """Before reading these tables inside a group: write out whatever the group holds back of them
    (and with it every other held-back row, in order), so the read sees the group's own writes."""
    state = _current.get()
    if state is not None and any(state.pending.get(table) for table in tables):
        state.flush()
