"""SLA badges and the SLA filter, read defensively from whatever the ticket views carry.

Tickets carry `sla_state`, `first_response_due`, `resolution_due` and `first_responded_at`
(domain.sla); a ticket without an SLA policy has none, and shows no badge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SLA_STATES: dict[str, str] = {
    "ok": "On track",
    "at_risk": "At risk",
    "breached": "Breached",
    "paused": "Paused",
    "met": "Met",
}


@dataclass(frozen=True)
class SlaBadge:
    state: str  # one of SLA_STATES; the CSS class colours it
    label: str
    due: datetime | None  # the deadline being counted down, if any
    time_left: str  # "2h 05m left", "1d 3h overdue", or "" when no clock runs

    @property
    def overdue(self) -> bool:
        return self.time_left.endswith("overdue")


def duration(seconds: float) -> str:
    """A short human duration: "45m", "3h 05m", "2d 4h"."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"


def _next_due(ticket: object) -> datetime | None:
    """The deadline that matters now: first response until one was made, then resolution."""
    first = getattr(ticket, "first_response_due", None)
    if getattr(ticket, "first_responded_at", None) is not None:
        first = None
    resolution = getattr(ticket, "resolution_due", None)
    candidates = [d for d in (first, resolution) if isinstance(d, datetime)]
    return min(candidates) if candidates else None


def sla_badge(ticket: object, now: datetime) -> SlaBadge | None:
    state = getattr(ticket, "sla_state", None)
    if state not in SLA_STATES:
        return None
    due = None if state in ("met", "paused") else _next_due(ticket)
    if due is None:
        return SlaBadge(state=state, label=SLA_STATES[state], due=None, time_left="")
    left = (due - now).total_seconds()
    time_left = f"{duration(left)} left" if left >= 0 else f"{duration(left)} overdue"
    return SlaBadge(state=state, label=SLA_STATES[state], due=due, time_left=time_left)
