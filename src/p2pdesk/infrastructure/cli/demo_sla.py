"""The demo desk's business calendars and SLA policies, loaded through the same use cases as the API.

Each team works office hours in its own city's calendar (with that country's public holidays of
2026-2027); Risk and Payments answer urgent tickets around the clock (fraud, a stopped payment run).
Targets tighten with priority; at risk emails the team lead, a breach also raises the priority,
and an urgent breach hands the ticket to another agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from p2pdesk.application.principal import Principal
from p2pdesk.application.use_cases.manage_sla import SaveCalendar, SavePolicy
from p2pdesk.bootstrap import Desk

MON_FRI = [0, 1, 2, 3, 4]


def _dates(*isos: str) -> list[date]:
    return [date.fromisoformat(d) for d in isos]


CALENDARS: tuple[SaveCalendar, ...] = (
    SaveCalendar(
        "Berlin office",
        "Europe/Berlin",
        MON_FRI,
        "08:00",
        "18:00",
        _dates(
            "2026-01-01",
            "2026-04-03",
            "2026-04-06",
            "2026-05-01",
            "2026-05-14",
            "2026-05-25",
            "2026-10-03",
            "2026-12-24",
            "2026-12-25",
            "2026-12-26",
            "2026-12-31",
            "2027-01-01",
        ),
    ),
    SaveCalendar(
        "London office",
        "Europe/London",
        MON_FRI,
        "09:00",
        "17:30",
        _dates(
            "2026-01-01",
            "2026-04-03",
            "2026-04-06",
            "2026-05-04",
            "2026-05-25",
            "2026-08-31",
            "2026-12-25",
            "2026-12-28",
            "2027-01-01",
        ),
    ),
    SaveCalendar(
        "Bengaluru office",
        "Asia/Kolkata",
        MON_FRI,
        "09:30",
        "18:30",
        _dates("2026-01-26", "2026-08-15", "2026-10-02", "2026-11-08", "2026-12-25", "2027-01-26"),
    ),
    SaveCalendar(
        "New York office",
        "America/New_York",
        MON_FRI,
        "08:00",
        "17:00",
        _dates(
            "2026-01-01", "2026-05-25", "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25", "2027-01-01"
        ),
    ),
    SaveCalendar("24/7", "UTC", [0, 1, 2, 3, 4, 5, 6], "00:00", "24:00"),
)

TEAM_CALENDARS = {
    "Accounts Payable": "Berlin office",
    "Procurement": "Berlin office",
    "Payments": "London office",
    "Risk": "London office",
    "Vendor Management": "Bengaluru office",
    "KYC": "Bengaluru office",
    "Inventory": "New York office",
    "Triage": "Berlin office",  # where routing sends what no rule or model is sure of
}
AROUND_THE_CLOCK_WHEN_URGENT = {"Payments", "Risk"}


@dataclass(frozen=True)
class Targets:
    first_response_minutes: int
    resolution_minutes: int


# Business minutes by priority: urgent, high, normal, low.
TARGETS = {
    1: Targets(30, 4 * 60),
    2: Targets(2 * 60, 8 * 60),
    3: Targets(4 * 60, 3 * 8 * 60),
    4: Targets(8 * 60, 5 * 8 * 60),
}


def load_sla_demo(desk: Desk, *, actor: Principal, team_ids: dict[str, int]) -> int:
    """Create the calendars and one policy per team and priority; returns how many policies."""
    calendars = {c.name: desk.sla_settings.create_calendar(c, actor) for c in CALENDARS}
    policies = 0
    for team, calendar in TEAM_CALENDARS.items():
        for priority, targets in TARGETS.items():
            urgent = priority == 1
            around_the_clock = urgent and team in AROUND_THE_CLOCK_WHEN_URGENT
            breach_actions = ["notify_team_lead", "raise_priority"] + (["reassign"] if urgent else [])
            desk.sla_settings.create_policy(
                SavePolicy(
                    team_id=team_ids[team],
                    priority=priority,
                    calendar_id=calendars["24/7" if around_the_clock else calendar],
                    first_response_minutes=targets.first_response_minutes,
                    resolution_minutes=targets.resolution_minutes,
                    breach_actions=breach_actions,
                ),
                actor,
            )
            policies += 1
    return policies
