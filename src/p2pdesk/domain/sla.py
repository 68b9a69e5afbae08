"""SLA policies and each ticket's SLA clock: targets, pause and resume, at-risk, breach, met.

A policy (per team and priority) sets two targets in business time of a calendar: the first
response (the first outbound reply to the requester) and the resolution. A ticket's clock starts
when it is opened; its due instants are computed then. While the ticket waits on the requester
(status pending) the clock stops, and when it runs again every due instant still ahead of the stop
moves later by the business time that was left, so pausing over a weekend or a DST change costs
nothing. Resolving stops the clock for good unless the ticket is reopened, which resumes it.

States, in order of precedence: breached (a target was missed; sticky), met (resolved, every target
on time), paused (pending), at_risk (a running target has used its at-risk share), ok.
Escalations run once per ticket and threshold (see Threshold) from a scheduled task; the ticket
keeps which thresholds it has escalated so the task knows when to look at it next.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from p2pdesk.domain.calendars import BusinessCalendar
from p2pdesk.domain.errors import InvalidValue
from p2pdesk.domain.tickets import Priority

DEFAULT_AT_RISK_SHARE = 0.8
MAX_TARGET_MINUTES = 366 * 24 * 60


class SlaState(StrEnum):
    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class Threshold(StrEnum):
    """A point on a target's clock at which the policy escalates."""

    FIRST_RESPONSE_AT_RISK = "first_response.at_risk"
    FIRST_RESPONSE_BREACHED = "first_response.breached"
    RESOLUTION_AT_RISK = "resolution.at_risk"
    RESOLUTION_BREACHED = "resolution.breached"

    @property
    def target(self) -> Target:
        return Target(self.value.partition(".")[0])

    @property
    def breached(self) -> bool:
        return self.value.endswith(".breached")


class EscalationAction(StrEnum):
    NOTIFY_TEAM_LEAD = "notify_team_lead"  # email the team's leads
    RAISE_PRIORITY = "raise_priority"  # one step more urgent, up to urgent
    REASSIGN = "reassign"  # to the fairest other available agent of the team


def parse_actions(values: object, *, field_name: str) -> tuple[EscalationAction, ...]:
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise InvalidValue(f"{field_name} must be a list of action names")
    allowed = ", ".join(a.value for a in EscalationAction)
    try:
        actions = [EscalationAction(v) for v in values]
    except ValueError:
        raise InvalidValue(f"{field_name}: actions are {allowed}") from None
    return tuple(dict.fromkeys(actions))


@dataclass(frozen=True)
class SlaPolicy:
    team_id: int
    priority: Priority
    calendar_id: int
    first_response_minutes: int
    resolution_minutes: int
    at_risk_share: float = DEFAULT_AT_RISK_SHARE
    at_risk_actions: tuple[EscalationAction, ...] = (EscalationAction.NOTIFY_TEAM_LEAD,)
    breach_actions: tuple[EscalationAction, ...] = (
        EscalationAction.NOTIFY_TEAM_LEAD,
        EscalationAction.RAISE_PRIORITY,
    )
    is_active: bool = True
    id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("first_response_minutes", "resolution_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TARGET_MINUTES:
                raise InvalidValue(f"{name} must be a whole number of minutes from 1 to {MAX_TARGET_MINUTES}")
        if self.first_response_minutes > self.resolution_minutes:
            raise InvalidValue("first_response_minutes must not exceed resolution_minutes")
        if not 0 < self.at_risk_share < 1:
            raise InvalidValue("at_risk_share must be between 0 and 1 (exclusive)")

    def actions_for(self, threshold: Threshold) -> tuple[EscalationAction, ...]:
        return self.breach_actions if threshold.breached else self.at_risk_actions

    def start_clock(self, calendar: BusinessCalendar, at: datetime) -> TicketSla:
        """The clock of a ticket opened at `at` under this policy."""
        assert self.id is not None, "a policy is stored before tickets use it"

        def target(minutes: int) -> TargetClock:
            return TargetClock(
                due=calendar.add_minutes(at, minutes),
                at_risk_at=calendar.add_minutes(at, minutes * self.at_risk_share),
            )

        return TicketSla(
            policy_id=self.id,
            first_response=target(self.first_response_minutes),
            resolution=target(self.resolution_minutes),
        )


@dataclass(frozen=True)
class TargetClock:
    due: datetime
    at_risk_at: datetime

    def shifted(self, calendar: BusinessCalendar, stopped_at: datetime, resumed_at: datetime) -> TargetClock:
        def shift(instant: datetime) -> datetime:
            if instant <= stopped_at:
                return instant  # already passed when the clock stopped: stays passed
            return calendar.add(resumed_at, calendar.between(stopped_at, instant))

        return TargetClock(due=shift(self.due), at_risk_at=shift(self.at_risk_at))


@dataclass(frozen=True)
class TicketSla:
    policy_id: int
    first_response: TargetClock
    resolution: TargetClock
    first_responded_at: datetime | None = None
    stopped_at: datetime | None = None  # when the clock stopped (pending or resolved)
    resolved: bool = False  # stopped because the ticket was resolved or closed
    breached: frozenset[Target] = frozenset()
    escalated: frozenset[Threshold] = frozenset()

    # -- lifecycle ------------------------------------------------------------------------------
    def pause(self, at: datetime) -> TicketSla:
        """The ticket waits on the requester."""
        if self.stopped_at is not None:
            return self
        return replace(self.evaluate(at), stopped_at=at)

    def resolve(self, at: datetime) -> TicketSla:
        """Resolved or closed: every running target completes now (or when the clock last stopped)."""
        if self.resolved:
            return self
        done_at = self.stopped_at or at
        sla = self.evaluate(at)
        breached = set(sla.breached)
        for target in sla._running_targets(ignore_stop=True):
            if done_at > sla.clock(target).due:
                breached.add(target)
        return replace(sla, stopped_at=done_at, resolved=True, breached=frozenset(breached))

    def resume(self, calendar: BusinessCalendar, at: datetime) -> TicketSla:
        """Back to open (requester replied, reopened): due instants move by the time stopped."""
        if self.stopped_at is None:
            return self
        stopped = self.stopped_at
        return replace(
            self,
            first_response=self.first_response.shifted(calendar, stopped, at),
            resolution=self.resolution.shifted(calendar, stopped, at),
            stopped_at=None,
            resolved=False,
        )

    def responded(self, at: datetime) -> TicketSla:
        """The first outbound reply to the requester; later replies change nothing."""
        if self.first_responded_at is not None:
            return self
        clock_at = self.stopped_at or at  # a reply while paused counts when the clock stopped
        breached = self.breached
        if Target.FIRST_RESPONSE in self._running_targets(ignore_stop=True) and (
            clock_at >= self.first_response.due
        ):
            breached = breached | {Target.FIRST_RESPONSE}
        return replace(self.evaluate(at), first_responded_at=at, breached=breached)

    # -- time -----------------------------------------------------------------------------------
    def clock(self, target: Target) -> TargetClock:
        return self.first_response if target == Target.FIRST_RESPONSE else self.resolution

    def _running_targets(self, *, ignore_stop: bool = False) -> list[Target]:
        if self.resolved or (self.stopped_at is not None and not ignore_stop):
            return []
        targets = [Target.RESOLUTION]
        if self.first_responded_at is None:
            targets.insert(0, Target.FIRST_RESPONSE)
        return targets

    def evaluate(self, now: datetime) -> TicketSla:
        """Record breaches of running targets whose due instant has passed."""
        late = {t for t in self._running_targets() if now >= self.clock(t).due}
        if late <= self.breached:
            return self
        return replace(self, breached=self.breached | late)

    def state(self, now: datetime) -> SlaState:
        sla = self.evaluate(now)
        if sla.breached:
            return SlaState.BREACHED
        if sla.resolved:
            return SlaState.MET
        if sla.stopped_at is not None:
            return SlaState.PAUSED
        if any(now >= sla.clock(t).at_risk_at for t in sla._running_targets()):
            return SlaState.AT_RISK
        return SlaState.OK

    def thresholds_reached(self, now: datetime) -> list[Threshold]:
        """Thresholds of running targets passed by `now` and not escalated yet, in clock order."""
        return [t for t, at in self._pending_thresholds() if at <= now]

    def next_check_at(self) -> datetime | None:
        """When the scheduled task should next look at this ticket: its next unescalated threshold."""
        return min((at for _, at in self._pending_thresholds()), default=None)

    def _pending_thresholds(self) -> list[tuple[Threshold, datetime]]:
        pending: list[tuple[Threshold, datetime]] = []
        for target in self._running_targets():
            clock = self.clock(target)
            for threshold, at in (
                (Threshold(f"{target.value}.at_risk"), clock.at_risk_at),
                (Threshold(f"{target.value}.breached"), clock.due),
            ):
                if threshold not in self.escalated:
                    pending.append((threshold, at))
        return sorted(pending, key=lambda pair: pair[1])

    def mark_escalated(self, threshold: Threshold) -> TicketSla:
        return replace(self, escalated=self.escalated | {threshold})
