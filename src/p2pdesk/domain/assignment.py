"""Who gets the next ticket: the fairness rule for assignment and redistribution.

An agent's load is the number of tickets assigned to them during the team's business day. The
next ticket goes to the agent with the lowest load; ties go to the one assigned least recently
(never assigned counts as longest ago), then to the lowest id so the choice is deterministic.
Redistribution applies the same rule ticket by ticket, which fills the least-loaded agents first
and leaves loads within one ticket of each other once there are enough tickets to level them.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

NEVER = datetime.min.replace(tzinfo=UTC)

T = TypeVar("T")


@dataclass(frozen=True)
class AgentLoad:
    agent_id: int
    assigned_today: int
    last_assigned_at: datetime | None

    def fairness_key(self) -> tuple[int, datetime, int]:
        return (self.assigned_today, self.last_assigned_at or NEVER, self.agent_id)


def choose_agent(loads: Iterable[AgentLoad]) -> AgentLoad | None:
    """The agent who should receive the next ticket, or None when nobody is available."""
    return min(loads, key=AgentLoad.fairness_key, default=None)


def plan_distribution(
    tickets: Sequence[T], loads: Iterable[AgentLoad], *, at: datetime
) -> list[tuple[T, int]]:
    """Deal `tickets` out one by one, each to the agent the fairness rule picks next.

    Every ticket dealt counts as assigned at `at`; among agents dealt to in this plan, the one dealt
    to earlier counts as assigned less recently. Runs in O(n log a) for n tickets and a agents.
    """
    heap = [(*load.fairness_key()[:2], 0, load.agent_id) for load in loads]
    if not heap:
        return []
    heapq.heapify(heap)
    plan: list[tuple[T, int]] = []
    for sequence, ticket in enumerate(tickets, start=1):
        assigned, _, _, agent_id = heapq.heappop(heap)
        plan.append((ticket, agent_id))
        heapq.heappush(heap, (assigned + 1, at, sequence, agent_id))
    return plan
