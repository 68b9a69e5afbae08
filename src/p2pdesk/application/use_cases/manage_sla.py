"""Manage business calendars and SLA policies: admins and team leads, every change audited.

Calendars are shared by teams, so any admin or team lead manages them; a team lead sets the
policies of their own teams only. A policy is never deleted (tickets keep counting in it): deleting
deactivates it, and new tickets of that team and priority then get no SLA. A calendar can be
deleted only while no policy names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any, TypeVar

from p2pdesk.application.audit import record_events
from p2pdesk.application.errors import Conflict, NotFound, ValidationFailed
from p2pdesk.application.lookups import live_team
from p2pdesk.application.principal import Principal, Role
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.domain.calendars import BusinessCalendar, format_clock, parse_clock
from p2pdesk.domain.errors import InvalidValue
from p2pdesk.domain.events import DomainEvent
from p2pdesk.domain.sla import DEFAULT_AT_RISK_SHARE, SlaPolicy, parse_actions
from p2pdesk.domain.tickets import Priority
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

R = TypeVar("R")


@dataclass(frozen=True)
class SaveCalendar:
    name: str
    timezone: str
    working_days: list[int]
    start: str  # "HH:MM"
    end: str  # "HH:MM", "24:00" for midnight
    holidays: list[date] = field(default_factory=list)


@dataclass(frozen=True)
class SavePolicy:
    team_id: int
    priority: int
    calendar_id: int
    first_response_minutes: int
    resolution_minutes: int
    at_risk_share: float = DEFAULT_AT_RISK_SHARE
    at_risk_actions: list[str] = field(default_factory=lambda: ["notify_team_lead"])
    breach_actions: list[str] = field(default_factory=lambda: ["notify_team_lead", "raise_priority"])
    is_active: bool = True


def calendar_fields(calendar: BusinessCalendar) -> dict[str, Any]:
    """A calendar as the API and the audit trail show it."""
    return {
        "name": calendar.name,
        "timezone": calendar.timezone,
        "working_days": sorted(calendar.working_days),
        "start": format_clock(calendar.start_minute),
        "end": format_clock(calendar.end_minute),
        "holidays": [d.isoformat() for d in sorted(calendar.holidays)],
    }


def policy_fields(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "team": policy.team_id,
        "priority": int(policy.priority),
        "calendar": policy.calendar_id,
        "first_response_minutes": policy.first_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "at_risk_share": policy.at_risk_share,
        "at_risk_actions": [a.value for a in policy.at_risk_actions],
        "breach_actions": [a.value for a in policy.breach_actions],
        "is_active": policy.is_active,
    }


def _calendar(command: SaveCalendar, calendar_id: int | None) -> BusinessCalendar:
    if any(isinstance(d, bool) or not isinstance(d, int) for d in command.working_days):
        raise InvalidValue("working_days are weekday numbers, 0 (Monday) to 6 (Sunday)")
    return BusinessCalendar(
        name=command.name,
        timezone=command.timezone,
        working_days=frozenset(command.working_days),
        start_minute=parse_clock(command.start),
        end_minute=parse_clock(command.end),
        holidays=frozenset(command.holidays),
        id=calendar_id,
    )


def _policy(command: SavePolicy, policy_id: int | None) -> SlaPolicy:
    return SlaPolicy(
        team_id=command.team_id,
        priority=Priority.parse(command.priority),
        calendar_id=command.calendar_id,
        first_response_minutes=command.first_response_minutes,
        resolution_minutes=command.resolution_minutes,
        at_risk_share=command.at_risk_share,
        at_risk_actions=parse_actions(command.at_risk_actions, field_name="at_risk_actions"),
        breach_actions=parse_actions(command.breach_actions, field_name="breach_actions"),
        is_active=command.is_active,
        id=policy_id,
    )


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = [k for k in after if after[k] != before.get(k)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


class SlaSettingsHandlers:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    # -- calendars ------------------------------------------------------------------------------
    def calendars(self, principal: Principal) -> list[BusinessCalendar]:
        principal.require_directory_admin()
        return self._read(lambda uow: uow.sla.calendars())

    def calendar(self, calendar_id: int, principal: Principal) -> BusinessCalendar:
        principal.require_directory_admin()
        return self._read(lambda uow: self._existing_calendar(uow, calendar_id))

    def create_calendar(self, command: SaveCalendar, principal: Principal) -> int:
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> int:
            calendar = _calendar(command, None)
            self._unique_calendar_name(uow, calendar.name, None)
            calendar_id = uow.sla.add_calendar(calendar)
            self._audit(uow, principal, "sla_calendar.created", calendar_id, {}, calendar_fields(calendar))
            return calendar_id

        return run_in_transaction(self._uow_factory, work)

    def update_calendar(self, calendar_id: int, changes: dict[str, Any], principal: Principal) -> None:
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> None:
            current = self._existing_calendar(uow, calendar_id)
            fields = {**_calendar_command(current), **changes}
            calendar = _calendar(SaveCalendar(**fields), calendar_id)
            self._unique_calendar_name(uow, calendar.name, calendar_id)
            before, after = _changes(calendar_fields(current), calendar_fields(calendar))
            if after:
                uow.sla.save_calendar(calendar)
                self._audit(uow, principal, "sla_calendar.updated", calendar_id, before, after)

        run_in_transaction(self._uow_factory, work)

    def delete_calendar(self, calendar_id: int, principal: Principal) -> None:
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> None:
            current = self._existing_calendar(uow, calendar_id)
            if uow.sla.calendar_in_use(calendar_id):
                raise Conflict(f"calendar {current.name!r} is used by SLA policies; change them first")
            uow.sla.delete_calendar(calendar_id)
            self._audit(uow, principal, "sla_calendar.deleted", calendar_id, calendar_fields(current), {})

        run_in_transaction(self._uow_factory, work)

    # -- policies -------------------------------------------------------------------------------
    def policies(self, principal: Principal) -> list[SlaPolicy]:
        principal.require_directory_admin()
        teams = principal.team_ids if principal.role == Role.TEAM_LEAD else None
        return self._read(lambda uow: uow.sla.policies(team_ids=teams))

    def policy(self, policy_id: int, principal: Principal) -> SlaPolicy:
        principal.require_directory_admin()
        policy = self._read(lambda uow: self._existing_policy(uow, policy_id))
        principal.require_lead_of(policy.team_id)
        return policy

    def create_policy(self, command: SavePolicy, principal: Principal) -> int:
        principal.require_lead_of(command.team_id)

        def work(uow: UnitOfWork) -> int:
            policy = self._valid_policy(uow, _policy(command, None))
            policy_id = uow.sla.add_policy(policy)
            self._audit(uow, principal, "sla_policy.created", policy_id, {}, policy_fields(policy))
            return policy_id

        return run_in_transaction(self._uow_factory, work)

    def update_policy(self, policy_id: int, changes: dict[str, Any], principal: Principal) -> None:
        def work(uow: UnitOfWork) -> None:
            current = self._existing_policy(uow, policy_id)
            principal.require_lead_of(current.team_id)
            command = replace(_policy_command(current), **changes)
            principal.require_lead_of(command.team_id)
            policy = self._valid_policy(uow, _policy(command, policy_id))
            before, after = _changes(policy_fields(current), policy_fields(policy))
            if after:
                uow.sla.save_policy(policy)
                self._audit(uow, principal, "sla_policy.updated", policy_id, before, after)

        run_in_transaction(self._uow_factory, work)

    def deactivate_policy(self, policy_id: int, principal: Principal) -> None:
        self.update_policy(policy_id, {"is_active": False}, principal)

    # -- helpers --------------------------------------------------------------------------------
    def _read(self, read: Callable[[UnitOfWork], R]) -> R:
        with self._uow_factory() as uow:
            return read(uow)

    @staticmethod
    def _existing_calendar(uow: UnitOfWork, calendar_id: int) -> BusinessCalendar:
        calendar = uow.sla.calendar(calendar_id)
        if calendar is None:
            raise NotFound(f"calendar {calendar_id} does not exist")
        return calendar

    @staticmethod
    def _existing_policy(uow: UnitOfWork, policy_id: int) -> SlaPolicy:
        policy = uow.sla.policy(policy_id)
        if policy is None:
            raise NotFound(f"SLA policy {policy_id} does not exist")
        return policy

    @staticmethod
    def _unique_calendar_name(uow: UnitOfWork, name: str, calendar_id: int | None) -> None:
        if uow.sla.calendar_name_taken(name, exclude_id=calendar_id):
            raise Conflict(f"a calendar named {name!r} already exists", details={"field": "name"})

    @staticmethod
    def _valid_policy(uow: UnitOfWork, policy: SlaPolicy) -> SlaPolicy:
        live_team(uow, policy.team_id)
        if uow.sla.calendar(policy.calendar_id) is None:
            raise ValidationFailed(
                f"calendar {policy.calendar_id} does not exist", details={"field": "calendar"}
            )
        if uow.sla.policy_taken(policy.team_id, policy.priority, exclude_id=policy.id):
            raise Conflict(
                f"team {policy.team_id} already has a policy for priority {int(policy.priority)}",
                details={"field": "priority"},
            )
        return policy

    def _audit(
        self,
        uow: UnitOfWork,
        principal: Principal,
        action: str,
        entity_id: int,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        entity_type = action.partition(".")[0]
        event = DomainEvent(
            action=action, entity_type=entity_type, entity_id=str(entity_id), before=before, after=after
        )
        record_events(uow, principal, self._clock.now(), [event])


def _calendar_command(calendar: BusinessCalendar) -> dict[str, Any]:
    """SaveCalendar's fields for a stored calendar: as the API shows it, holidays as dates."""
    return {**calendar_fields(calendar), "holidays": sorted(calendar.holidays)}


def _policy_command(policy: SlaPolicy) -> SavePolicy:
    fields = asdict(policy)
    fields.pop("id")
    fields["priority"] = int(policy.priority)
    fields["at_risk_actions"] = [a.value for a in policy.at_risk_actions]
    fields["breach_actions"] = [a.value for a in policy.breach_actions]
    return SavePolicy(**fields)
