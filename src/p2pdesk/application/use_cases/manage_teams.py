"""Create, change and (softly) delete teams."""

from __future__ import annotations

from dataclasses import dataclass

from p2pdesk.application.assigning import drain_backlog
from p2pdesk.application.audit import record_changes, record_events
from p2pdesk.application.errors import Conflict
from p2pdesk.application.lookups import live_team, team_taking_tickets
from p2pdesk.application.principal import Principal
from p2pdesk.application.transaction import run_in_transaction
from p2pdesk.application.use_cases.update_ticket import TicketChanges, apply_changes
from p2pdesk.domain.teams import Team
from p2pdesk.ports.clock import Clock
from p2pdesk.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class CreateTeam:
    name: str
    description: str = ""
    timezone: str | None = None  # the desk's timezone when omitted
    is_active: bool = True


@dataclass(frozen=True)
class UpdateTeam:
    team_id: int
    name: str | None = None
    description: str | None = None
    timezone: str | None = None
    is_active: bool | None = None


@dataclass(frozen=True)
class DeleteTeam:
    team_id: int
    move_open_tickets_to: int | None = None


def _ensure_name_free(uow: UnitOfWork, name: str, exclude_id: int | None = None) -> None:
    if uow.teams.live_name_taken(name, exclude_id=exclude_id):
        raise Conflict(f"a team named {name!r} already exists", details={"field": "name"})


class TeamHandlers:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, *, default_timezone: str) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._default_timezone = default_timezone

    def create(self, command: CreateTeam, principal: Principal) -> int:
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> int:
            team = Team.create(
                name=command.name,
                description=command.description,
                timezone=command.timezone or self._default_timezone,
            )
            team.is_active = command.is_active
            _ensure_name_free(uow, team.name)
            uow.teams.add(team)
            assert team.id is not None
            team.record_created()
            record_changes(uow, principal, self._clock.now(), [team])
            return team.id

        return run_in_transaction(self._uow_factory, work)

    def update(self, command: UpdateTeam, principal: Principal) -> None:
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> None:
            uow.assignment.lock_teams([command.team_id])
            team = live_team(uow, command.team_id)
            was_taking = team.accepts_tickets
            team.update(
                name=command.name,
                description=command.description,
                timezone=command.timezone,
                is_active=command.is_active,
            )
            if command.name is not None:
                _ensure_name_free(uow, team.name, exclude_id=team.id)
            uow.teams.save(team)
            at = self._clock.now()
            record_changes(uow, principal, at, [team])
            if team.accepts_tickets and not was_taking:
                record_events(uow, principal, at, drain_backlog(uow, team, at=at))

        run_in_transaction(self._uow_factory, work)

    def delete(self, command: DeleteTeam, principal: Principal) -> None:
        """Soft delete. Active tickets must go somewhere: to `move_open_tickets_to`, or it is refused."""
        principal.require_directory_admin()

        def work(uow: UnitOfWork) -> None:
            teams = [command.team_id]
            if command.move_open_tickets_to is not None:
                teams.append(command.move_open_tickets_to)
            uow.assignment.lock_teams(sorted(set(teams)))
            team = live_team(uow, command.team_id)
            at = self._clock.now()
            active = len(uow.tickets.active_ids_in_team(command.team_id))
            if active and command.move_open_tickets_to is None:
                raise Conflict(
                    f"team {team.name!r} still has {active} active tickets; "
                    "pass move_to=<team id> to move them, or resolve them first",
                    details={"active_tickets": active},
                )
            if active and command.move_open_tickets_to is not None:
                if command.move_open_tickets_to == command.team_id:
                    raise Conflict("cannot move a team's tickets to the team being deleted")
                self._move_active_tickets(uow, team, command.move_open_tickets_to, principal)
            team.delete(at=at)
            uow.teams.save(team)
            uow.assignment.close_team(command.team_id)
            record_changes(uow, principal, at, [team])

        run_in_transaction(self._uow_factory, work)

    def _move_active_tickets(self, uow: UnitOfWork, team: Team, target_id: int, principal: Principal) -> None:
        target = team_taking_tickets(uow, target_id)
        at = self._clock.now()
        ids = uow.tickets.active_ids_in_team(team.id or 0)
        tickets = uow.tickets.get_many(ids, for_update=True)
        teams = {target.id or 0: target}
        for ticket in tickets:  # moving team never resolves, so there is no resolution to count
            apply_changes(uow, ticket, TicketChanges(team_id=target.id), principal, at=at, teams=teams)
        uow.tickets.save_many(tickets)
        record_changes(uow, principal, at, tickets)
