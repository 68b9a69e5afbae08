"""Run a unit of work, again from the start when the database reports a transient conflict."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from p2pdesk.application.errors import TransientConflict
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

R = TypeVar("R")

ATTEMPTS = 5


def run_in_transaction(factory: UnitOfWorkFactory, work: Callable[[UnitOfWork], R]) -> R:
    """`work` must only touch the database through the unit of work, so repeating it is safe."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with factory() as uow:
                result = work(uow)
                uow.commit()
                return result
        except TransientConflict:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")
